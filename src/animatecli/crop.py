"""``animate crop``: cut square face clips, with their sound, out of a video (FOMM style).

The First Order Motion Model's ``crop-video.py`` finds faces frame by frame, groups them into
tubes (`animatecli.faces.TubeTracker`), and prints one ffmpeg command per tube long enough to
use. This module does the same job end to end:

1. **Scan** (one streaming pass, `media.VideoReader`, one frame in memory): faces are
   detected on every Nth frame (``every``; default: 5 detections per second of video, i.e.
   every 5th frame at 25 fps, every 6th at 30 fps) and on the last frame, and linked into
   tubes that follow moving faces (`faces.FaceTracker`). Faces smaller than ``min_face`` are
   ignored; the dlib detector runs on a copy scaled so that ``min_face`` is its 80-px window.
   The frames in between are not examined: a tube spans from its first to its last detected
   frame, so its ends are known to within ``every - 1`` frames (0.2 s at the default).
2. **Select**: tubes that do not behave like a face (`faces.tube_rejection`: few
   detections, found on few examined frames, flickering size) or whose best detection stays
   below ``min_score`` are dropped. Each remaining tube gets a crop (``track``): ``static``
   cuts it into FOMM's fixed-crop segments (`faces.fomm_segments`), ``follow`` moves a square
   with the face (`faces.following_path`), ``auto`` keeps one fixed square while the face
   wanders less than half its size and follows it otherwise. Crops lasting at least
   ``min_seconds`` become clips.
3. **Cut**: one ffmpeg run per clip over the source file: an accurate input seek to a
   quarter frame before the start, then ``fps`` (the probed exact rate) → ``trim`` to the
   exact frame count → ``crop`` (one square, or for a following crop one square per frame set
   through ``sendcmd``) → ``scale`` to ``size``; the audio is cut to the same seconds with
   ``atrim``. H.264 (yuv420p, CRF 18) + AAC, written to a hidden temporary file and renamed,
   plus a JSON sidecar describing the clip.

Frame numbers are those of `media.VideoReader` (frame n at n/fps); for the usual
constant-rate sources they are the file's own frames.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import faces, media
from .atomic import atomic_output
from .errors import (
    AnimateError,
    InputError,
    MediaError,
    NoFaceError,
    OutputError,
    OutputExistsError,
)
from .faces.tracking import MIN_DETECTIONS
from .media import AUDIO_BITRATE, error_reason, ffmpeg_path, run_ffmpeg
from .options import CropOptions
from .paths import check_not_stdout, check_output_path
from .progress import Reporter, SilentReporter
from .words import counted

__all__ = ["CropOptions", "CropResult", "FaceClip", "crop_video"]


def default_min_score(detector_name: str) -> float:
    """The tube score threshold for a backend: its confident detection score.

    Thresholding each detection would drop many true LBP hits (5th percentile 3), and a
    single missed detection closes a tube (FOMM's rule), fragmenting it; so weak hits are
    kept for tracking and a tube counts only if some detection of it is confident: a tube
    of false positives never is, a real face is within a few detections.
    """
    return faces.confident_score(detector_name)


def default_output_dir(video: Path) -> Path:
    """``<video stem>_faces`` in the current directory."""
    return Path(f"{Path(video).stem}_faces")


@dataclass(frozen=True)
class FaceClip:
    """One face crop cut into a clip: frames ``start_frame..end_frame`` inclusive."""

    index: int  # 1-based, in order of appearance
    path: Path
    sidecar: Path
    crop: faces.CropPath  # the square of every frame, source pixels
    face_box: tuple[float, float, float, float]  # the union of the face's detections
    fps: Fraction
    size: int
    score: float  # best detection score of the tube (backend units)
    detections: int  # detected frames in the clip

    @property
    def track(self) -> str:
        """``"follow"`` when the crop moves with the face, else ``"static"``."""
        return "follow" if self.crop.follows else "static"

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The first frame's square ``(x0, y0, x1, y1)`` (a static clip's only one)."""
        return self.crop.box_at(self.start_frame)

    @property
    def start_frame(self) -> int:
        return self.crop.start_frame

    @property
    def end_frame(self) -> int:
        return self.crop.end_frame

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame + 1

    @property
    def start_seconds(self) -> float:
        return float(self.start_frame / self.fps)

    @property
    def end_seconds(self) -> float:
        """End of the last frame, i.e. ``(end_frame + 1) / fps``."""
        return float((self.end_frame + 1) / self.fps)

    def frame_boxes(self) -> list[tuple[int, int, int, int]]:
        """The square of every frame of the clip."""
        return [self.crop.box_at(i) for i in range(self.start_frame, self.end_frame + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "path": str(self.path),
            "sidecar": str(self.sidecar),
            "track": self.track,
            "box": list(self.box),
            "face_box": [round(v, 2) for v in self.face_box],
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": self.frames,
            "start_seconds": round(self.start_seconds, 6),
            "end_seconds": round(self.end_seconds, 6),
            "score": self.score,
            "detections": self.detections,
        }


@dataclass
class CropResult:
    """What ``animate crop`` found and wrote (the CLI's ``--json`` object)."""

    video: Path
    output_dir: Path
    detector: str
    fps: Fraction
    width: int
    height: int
    every: int
    min_score: float
    min_face: float
    track: str
    frames_scanned: int
    frames_detected: int
    tubes: int  # all tubes found, before the face, length and score rules
    rejected: int  # tubes dropped as not a face (see `faces.tube_rejection`)
    clips: list[FaceClip] = field(default_factory=list)
    has_audio: bool = False
    seconds: float = 0.0
    # Wall seconds per stage: scan (decode + detect + track) and write (ffmpeg cuts).
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": str(self.video),
            "output_dir": str(self.output_dir),
            "detector": self.detector,
            "fps": _fps_text(self.fps),
            "width": self.width,
            "height": self.height,
            "every": self.every,
            "min_score": self.min_score,
            "min_face": self.min_face,
            "track": self.track,
            "frames_scanned": self.frames_scanned,
            "frames_detected": self.frames_detected,
            "tubes": self.tubes,
            "rejected": self.rejected,
            "has_audio": self.has_audio,
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "clips": [c.to_dict() for c in self.clips],
        }


def _fps_text(fps: Fraction) -> str:
    return f"{fps.numerator}/{fps.denominator}"


def _seconds_text(value: Fraction) -> str:
    """Non-negative seconds as ffmpeg reads them, rounded to the microsecond."""
    micros = round(value * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def resolve_detector_device(detector: str, device: str) -> str:
    """The torch device for face-alignment (``device``: auto, cpu, cuda or cuda:N);
    ``"cpu"`` whenever it will not be used.

    Avoids importing torch (seconds) when the offline detector is going to run anyway.
    """
    if detector in ("opencv", "lbp", "dlib"):
        return "cpu"
    if detector == "auto" and not faces.face_alignment_weights_available():
        return "cpu"
    from .models import resolve_device

    return str(resolve_device(device))


# ---------------------------------------------------------------------------------------
# scan
# ---------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """Tubes of one streaming pass, and how much was looked at."""

    tubes: list[faces.FaceTube]
    frames: int  # frames decoded
    detected: int  # frames the detector examined
    detector: str  # the detector's name


def scan_faces(
    info: media.VideoInfo,
    detector: faces.FaceDetector,
    every: int,
    reporter: Reporter | None = None,
    min_face: float = 0.0,
) -> ScanResult:
    """Stream the video once; detect on every ``every``-th frame and on the last one.

    Frames are decoded one at a time; only the previous frame is kept, so the last frame can
    be examined once the stream turns out to have ended on a skipped frame (otherwise a face
    present to the very end would lose up to ``every - 1`` frames). Faces smaller than
    ``min_face`` px are ignored.
    """
    reporter = reporter or SilentReporter()
    scan = faces.FaceScan(
        lambda frame: [b for b in detector.detect(frame) if b.side >= min_face], every
    )
    reporter.start("scanning", info.frame_count_hint)
    with media.VideoReader(info.path, info=info) as reader:
        for index, frame in enumerate(reader):
            scan.feed(index, frame)
            reporter.advance(1)
    tubes = scan.finish()
    reporter.finish()
    return ScanResult(tubes, scan.frames, scan.examined, detector.name)


# ---------------------------------------------------------------------------------------
# select
# ---------------------------------------------------------------------------------------


def clip_name(stem: str, index: int, start: int, end: int) -> str:
    """``<stem>_face<index>_<start>-<end>.mp4``, frame numbers zero-padded to 6 digits."""
    return f"{stem}_face{index}_{start:06d}-{end:06d}.mp4"


def plan_clips(
    tubes: Sequence[faces.FaceTube],
    info: media.VideoInfo,
    output_dir: Path,
    options: CropOptions,
    min_score: float,
) -> list[FaceClip]:
    """The face tubes that qualify (score, length), as clips with their crops."""
    min_frames = max(1, math.ceil(options.min_seconds * info.fps - Fraction(1, 10**6)))
    stem = Path(info.path).stem
    clips: list[FaceClip] = []
    for tube in tubes:
        if tube.union_box.score < min_score:
            continue
        paths = faces.crop_paths(
            tube,
            options.track,
            options.increase,
            (info.height, info.width),
            float(info.fps),
            options.smooth_seconds,
        )
        for part, crop in paths:
            if crop.end_frame - crop.start_frame + 1 < min_frames:
                continue
            index = len(clips) + 1
            path = output_dir / clip_name(stem, index, crop.start_frame, crop.end_frame)
            clips.append(
                FaceClip(
                    index=index,
                    path=path,
                    sidecar=path.with_suffix(".json"),
                    crop=crop,
                    face_box=part.union_box.as_tuple(),
                    fps=info.fps,
                    size=options.size,
                    score=float(part.union_box.score),
                    detections=len(part.boxes),
                )
            )
    return clips


def _no_clip_error(
    video: Path,
    scan: ScanResult,
    face_tubes: Sequence[faces.FaceTube],
    info: media.VideoInfo,
    options: CropOptions,
    min_score: float,
) -> AnimateError:
    scored = [t for t in face_tubes if t.union_box.score >= min_score]
    seen = [t for t in scan.tubes if t.union_box.score >= min_score]
    min_frames = max(1, math.ceil(options.min_seconds * info.fps - Fraction(1, 10**6)))
    if not scored and seen and (scan.frames < min_frames or scan.detected < MIN_DETECTIONS):
        # A face is there; the clip is too short to tell it from a false detection.
        frames = counted(scan.frames, "frame")
        return InputError(
            f"{video} is too short for a face clip ({frames}, "
            f"{float(scan.frames / info.fps):.2f} s): a face is in view, but a clip needs "
            f"{MIN_DETECTIONS} detections and --min-seconds {options.min_seconds:g} s"
        )
    if not scored:
        return NoFaceError(
            f"no face found in {video} ({counted(scan.frames, 'frame')}, {scan.detected} examined "
            f"with the {scan.detector} detector)"
        )
    longest = max(t.num_frames for t in scored) / info.fps
    return NoFaceError(
        f"no face stays in view for {options.min_seconds:g} s in {video} (longest "
        f"{float(longest):.2f} s); try a lower --min-seconds"
    )


# ---------------------------------------------------------------------------------------
# cut
# ---------------------------------------------------------------------------------------


def crop_commands(clip: FaceClip) -> str:
    """``sendcmd`` lines moving the ``crop@face`` filter to each frame's square.

    Times are on the clip's own timeline (frame k at k/fps) and half a frame early, so each
    command is in force when its frame arrives; unchanged positions send nothing.
    """
    lines = []
    previous = clip.box
    for k, box in enumerate(clip.frame_boxes()):
        if box[:2] != previous[:2]:
            at = _seconds_text((Fraction(k) - Fraction(1, 2)) / clip.fps)
            lines.append(f"{at} crop@face x {box[0]}, crop@face y {box[1]};")
        previous = box
    return "".join(f"{line}\n" for line in lines)


def clip_command(
    clip: FaceClip,
    info: media.VideoInfo,
    options: CropOptions,
    out: Path,
    commands: Path | None = None,
) -> list[str]:
    """ffmpeg arguments that cut ``clip`` out of ``info.path`` into ``out``.

    Video: an accurate input seek to a quarter frame before the first frame (ffmpeg decodes
    from the preceding keyframe and drops everything earlier, so the cost does not grow with
    the start time); ``fps`` with ``start_time`` rebuilds the constant-rate sequence exactly
    as `media.VideoReader` numbers it (a video starting after the audio is padded the same
    way), and ``trim`` keeps exactly ``clip.frames`` frames. The quarter-frame offset keeps
    every frame far from a rounding boundary.

    Audio: the same file opened a second time without seeking (the mov demuxer moves every
    stream to the video keyframe, which drops audio when that keyframe lies after the seek
    point) and cut with ``atrim`` to ``[start_frame, end_frame + 1) / fps`` on the file's
    timeline; decoding audio from the start is cheap.

    A following crop reads its per-frame positions from ``commands`` (a `crop_commands`
    file; None when the square never moves); its size is fixed.
    """
    fps = info.fps
    start = Fraction(clip.start_frame) / fps
    seek = max(Fraction(0), start - Fraction(1, 4) / fps)
    seek_text = _seconds_text(seek)
    offset = start - Fraction(seek_text)  # where the first frame sits after the seek
    x0, y0, x1, y1 = clip.box
    width, height = x1 - x0, y1 - y0  # equal: the box is square
    flags = "area" if width > clip.size else "bicubic"
    mover = f"sendcmd=f={commands}," if commands is not None else ""
    video_chain = (
        f"[0:V:0]fps=fps={_fps_text(fps)}:start_time={_seconds_text(offset)},"
        f"trim=start_frame=0:end_frame={clip.frames},"
        f"setpts=PTS-STARTPTS,{mover}crop@face=w={width}:h={height}:x={x0}:y={y0}:exact=1,"
        f"scale={clip.size}:{clip.size}:flags={flags},setsar=1,format=yuv420p[v]"
    )
    graph = [video_chain]
    maps = ["-map", "[v]"]
    audio_args: list[str] = []
    if info.has_audio:
        end = start + Fraction(clip.frames) / fps
        graph.append(
            f"[1:a:0]atrim=start={_seconds_text(start)}:end={_seconds_text(end)},"
            "asetpts=PTS-STARTPTS[a]"
        )
        maps += ["-map", "[a]"]
        audio_args = ["-c:a", "aac", "-b:a", AUDIO_BITRATE]
    seek_args = ["-ss", seek_text] if seek > 0 else []
    # Plain-file names: "concat:a|b" or "file:x" would otherwise be read as protocols.
    audio_input = ["-i", ffmpeg_path(info.path)] if info.has_audio else []
    return [
        "-v", "error",
        *seek_args, "-i", ffmpeg_path(info.path),
        *audio_input,
        "-filter_complex", ";".join(graph),
        *maps,
        "-c:v", "libx264", "-crf", str(options.crf), "-preset", options.preset,
        "-pix_fmt", "yuv420p",
        *audio_args,
        "-movflags", "+faststart",
        "-y", ffmpeg_path(out),
    ]  # fmt: skip


def sidecar_payload(clip: FaceClip, info: media.VideoInfo, detector: str) -> dict[str, Any]:
    """The JSON written beside each clip."""
    return {
        "clip": clip.path.name,
        "source": str(Path(info.path).resolve()),
        "track": clip.track,
        "box": list(clip.box),
        # A following crop lists every frame's square (x0, y0, x1, y1), in clip order.
        "boxes": [list(b) for b in clip.frame_boxes()] if clip.crop.follows else None,
        "face_box": [round(v, 2) for v in clip.face_box],
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frames": clip.frames,
        "start_seconds": round(clip.start_seconds, 6),
        "end_seconds": round(clip.end_seconds, 6),
        "fps": _fps_text(clip.fps),
        "size": clip.size,
        "source_size": [info.width, info.height],
        "audio": info.has_audio,
        "detector": detector,
        "score": clip.score,
    }


def write_clip(clip: FaceClip, info: media.VideoInfo, options: CropOptions, detector: str) -> None:
    """Encode one clip and its sidecar, each written atomically (the clip first)."""
    commands: Path | None = None
    try:
        # Nested so that the clip is committed first, then its sidecar.
        with (
            atomic_output(clip.sidecar, overwrite=options.overwrite) as side_temp,
            atomic_output(clip.path, overwrite=options.overwrite) as temp,
        ):
            moves = crop_commands(clip)
            if moves:
                # In the system temp folder: its path needs no escaping inside a filter graph.
                handle, name = tempfile.mkstemp(prefix="animate-crop-", suffix=".cmd")
                os.close(handle)
                commands = Path(name)
                commands.write_text(moves)
            proc = run_ffmpeg(clip_command(clip, info, options, temp, commands))
            if proc.returncode != 0:
                reason = error_reason(proc.stderr.decode("utf-8", errors="replace"))
                raise MediaError(f"cutting {clip.path.name} from {info.path} failed: {reason}")
            side_temp.write_text(json.dumps(sidecar_payload(clip, info, detector), indent=2) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write {clip.path}: {exc.strerror or exc}") from exc
    finally:
        if commands is not None:
            with contextlib.suppress(OSError):
                commands.unlink()


def _check_output_dir(output_dir: Path) -> None:
    check_not_stdout(output_dir, "--output")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"output {output_dir} exists and is not a folder")


def _check_targets(
    clips: Sequence[FaceClip], output_dir: Path, overwrite: bool, video: Path
) -> None:
    """Each clip's target checked as every output is (`paths.check_output_path`: kind,
    existence, name length, writable folder, never the input ``video`` even with
    --overwrite); its sidecar must not exist either. A folder not made yet holds no
    target, and is checked when it is made."""
    if not output_dir.is_dir():
        return
    for clip in clips:
        check_output_path(clip.path, overwrite, inputs=(video,))
        if clip.sidecar.exists() and not overwrite:
            raise OutputExistsError(f"output {clip.sidecar} exists; pass --overwrite to replace it")


def crop_video(
    video: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None = None,
    options: CropOptions | None = None,
    reporter: Reporter | None = None,
    detector: faces.FaceDetector | None = None,
) -> CropResult:
    """Find the face tubes of ``video`` and write one square clip (+ JSON) per usable tube.

    Args:
        video: the video file.
        output_dir: where clips go (created only when a clip is written); default
            `default_output_dir`.
        options: see `CropOptions`.
        reporter: progress (scan: frames; writing: frames of the clips) and notices.
        detector: an already built detector (overrides ``options.detector``).

    Raises:
        InputError: bad video or options; OutputError: clip files exist without overwrite,
        unwritable folder; NoFaceError: no tube qualifies (nothing is written then);
        MediaError: ffmpeg failed.
    """
    started = time.perf_counter()
    options = options or CropOptions()
    reporter = reporter or SilentReporter()
    path = Path(video)
    target_dir = Path(output_dir) if output_dir is not None else default_output_dir(path)
    _check_output_dir(target_dir)
    info = media.probe_video(path)
    min_face = options.min_face or faces.default_min_face(info.width, info.height)
    if detector is None:
        device = resolve_detector_device(options.detector, options.device)
        detector = faces.make_detector(
            options.detector, device=device, notify=reporter.notice, min_face=min_face
        )
    every = options.every or faces.default_stride(info.fps)
    min_score = (
        options.min_score if options.min_score is not None else (default_min_score(detector.name))
    )
    scanned = time.perf_counter()
    scan = scan_faces(info, detector, every, reporter, min_face)
    scanned = time.perf_counter() - scanned
    face_tubes = [t for t in scan.tubes if faces.tube_rejection(t, every) is None]
    clips = plan_clips(face_tubes, info, target_dir, options, min_score)
    if not clips:
        raise _no_clip_error(path, scan, face_tubes, info, options, min_score)
    _check_targets(clips, target_dir, options.overwrite, path)
    created = not target_dir.exists()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {target_dir}: {exc.strerror or exc}") from exc
    reporter.start("writing", sum(c.frames for c in clips))
    written = time.perf_counter()
    try:
        for clip in clips:
            write_clip(clip, info, options, detector.name)
            reporter.advance(clip.frames)
    except BaseException:
        if created:  # a failed run leaves nothing behind, not even an empty folder
            with contextlib.suppress(OSError):
                target_dir.rmdir()
        raise
    written = time.perf_counter() - written
    reporter.finish()
    return CropResult(
        video=path,
        output_dir=target_dir,
        detector=detector.name,
        fps=info.fps,
        width=info.width,
        height=info.height,
        every=every,
        min_score=min_score,
        min_face=min_face,
        track=options.track,
        frames_scanned=scan.frames,
        frames_detected=scan.detected,
        tubes=len(scan.tubes),
        rejected=len(scan.tubes) - len(face_tubes),
        clips=clips,
        has_audio=info.has_audio,
        seconds=time.perf_counter() - started,
        stage_seconds={"scan": scanned, "write": written},
    )
