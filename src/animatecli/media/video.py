"""Video input: probing (`probe_video`), streaming decode (`VideoReader`) and measurement.

All decoding goes through the ffmpeg binary bundled with imageio-ffmpeg; frames travel
over a pipe as raw RGB, one at a time, so memory stays flat whatever the video length.

Frame rate exactness: `ffmpeg -i` prints rates rounded to two decimals ("29.97 fps"), which
is useless for re-encoding at the same rate. Instead `probe_video` decodes one frame into
a YUV4MPEG stream, whose header carries the rate ffmpeg itself will use as an exact ratio
("F30000:1001"). The same run also yields the displayed (autorotated) frame size and
proves that at least one frame decodes. `VideoReader` then forces that exact rate on its
output, so the n-th frame it yields is at time n / fps.

The output sinks live in `animatecli.media.sinks`.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import numpy as np

from animatecli.errors import InputError, MediaError
from animatecli.media._ffmpeg import (
    codec_thread_args,
    count_errors,
    error_lines,
    error_reason,
    ffmpeg_path,
    parse_input_listing,
    popen_ffmpeg,
    read_stderr,
    run_ffmpeg,
    stop_process,
)
from animatecli.paths import check_input_file
from animatecli.words import counted

__all__ = [
    "StreamTiming",
    "VideoInfo",
    "VideoReader",
    "count_frames",
    "has_audio",
    "probe_audio_codec",
    "probe_streams",
    "probe_video",
    "snap_fps",
]

_Y4M_HEADER_RE = re.compile(rb"^YUV4MPEG2 .*?\bW(\d+) H(\d+) F(\d+):(\d+)")
# NTSC-family rates are N*1000/1001 for these N; anything else snaps to a small ratio.
_NTSC_BASES = (24, 30, 48, 60, 72, 90, 96, 120, 144, 180, 240)


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about a driving video before decoding it.

    `width`/`height` are of the frames as decoded (rotation metadata already applied);
    `fps` is exact, e.g. Fraction(30000, 1001) for "29.97".
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count_estimate: int | None
    duration: float | None
    has_audio: bool
    audio_codec: str | None
    video_codec: str | None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the decoded frames."""
        return self.height, self.width

    @property
    def frame_count_hint(self) -> int | None:
        """Total for a progress bar: the positive frame-count estimate, or None if unknown."""
        if self.frame_count_estimate is None or self.frame_count_estimate <= 0:
            return None
        return self.frame_count_estimate


def snap_fps(value: float) -> Fraction:
    """Turn a float frame rate into the exact ratio it most likely stands for.

    29.97 -> 30000/1001, 23.976 -> 24000/1001, 25.0 -> 25, 12.5 -> 25/2.
    """
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"invalid frame rate {value!r}")
    nearest = round(value)
    if nearest > 0 and abs(value - nearest) < 1e-3:
        return Fraction(nearest)
    for base in _NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        # Printed rates carry two decimals, so allow 5e-3 (29.97 vs 29.97003).
        if abs(value - float(ntsc)) < 5e-3:
            return ntsc
    return Fraction(value).limit_denominator(1001)


def _exact_fps(num: int, den: int) -> Fraction:
    fps = Fraction(num, den)
    # Timestamp-derived rates of variable-rate files come out as e.g. 1348650/45007;
    # a constant-rate encode wants the nominal rate instead.
    return snap_fps(float(fps)) if fps.denominator > 1001 else fps


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Inspect a video file: size, exact frame rate, duration, codecs, audio presence.

    Decodes exactly one frame. Raises `InputError` (one line, naming the file) if the
    path is missing, a folder, not a media file, has no video stream or no frames.
    """
    p = check_input_file(path, "video")
    proc = run_ffmpeg(
        [
            "-i", ffmpeg_path(p),
            # V (capital) skips cover art; "?" lets a video-less file reach our own check.
            "-map", "0:V:0?",
            "-frames:v", "1",
            "-fps_mode", "cfr",
            "-pix_fmt", "yuv420p",
            "-f", "yuv4mpegpipe", "-",
        ]
    )  # fmt: skip
    stderr = proc.stderr.decode("utf-8", errors="replace")
    listing = parse_input_listing(stderr)
    if not listing.opened:
        raise InputError(f"{p} is not a readable video file ({error_reason(stderr)})")
    video = listing.first("video")
    if video is None:
        raise InputError(f"{p} has no video stream")
    header = _Y4M_HEADER_RE.match(proc.stdout)
    if header is None:
        raise InputError(f"{p}: could not decode the video stream ({error_reason(stderr)})")
    if b"FRAME" not in proc.stdout[header.end() :]:
        # ffmpeg still writes a header for a stream that yields no frame at all.
        raise InputError(f"{p} contains no video frames")
    width, height = int(header[1]), int(header[2])
    fps = _exact_fps(int(header[3]), int(header[4]))
    duration = video.tag_duration if video.tag_duration is not None else listing.duration
    estimate = round(duration * fps) if duration is not None else None
    audio = listing.first("audio")
    return VideoInfo(
        path=p,
        width=width,
        height=height,
        fps=fps,
        frame_count_estimate=estimate,
        duration=duration,
        has_audio=audio is not None,
        audio_codec=audio.codec if audio else None,
        video_codec=video.codec,
    )


class VideoReader:
    """Stream the frames of a video as H×W×3 uint8 RGB arrays, one at a time.

    Use as a context manager (the ffmpeg process is always reaped on exit, including when
    the loop stops early) and iterate::

        with VideoReader("driving.mp4") as reader:
            for frame in reader: ...

    `start`/`stop` select frames [start, stop) of the constant-rate sequence at
    `info.fps`; frames before `start` are decoded and dropped (exact, but O(start)).
    Every yielded array is freshly allocated and writable.

    `nvdec_gpu`: decode on that CUDA device's NVDEC engine (``-hwaccel cuda``; the frames
    still arrive as RGB on the host, and ffmpeg falls back to software for a codec NVDEC
    lacks); `media.choose_decoder` decides whether it works here.

    Errors: no frame at all -> `InputError`; ffmpeg failing or the file turning out to be
    truncated/damaged part-way -> `MediaError` (raised from `next()` instead of silently
    ending the iteration early). Damage ffmpeg decodes through (frames concealed, all of
    them delivered) is no error: `decode_errors` counts what ffmpeg reported, for a notice.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start: int = 0,
        stop: int | None = None,
        info: VideoInfo | None = None,
        nvdec_gpu: int | None = None,
    ) -> None:
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        if stop is not None and stop < start:
            raise ValueError(f"stop ({stop}) must be >= start ({start})")
        self.info = info if info is not None else probe_video(path)
        self.path = self.info.path
        self.start = start
        self.stop = stop
        self.nvdec_gpu = nvdec_gpu
        self.frames_read = 0  # frames yielded so far (not counting the skipped prefix)
        self._decoded = 0  # frames produced by ffmpeg, skipped ones included
        # Errors ffmpeg logged while decoding (damaged data it concealed); final once the
        # iteration ended or `close()` ran.
        self.decode_errors = 0
        self._frame_bytes = self.info.width * self.info.height * 3
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._done = False

    @property
    def width(self) -> int:
        return self.info.width

    @property
    def height(self) -> int:
        return self.info.height

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    @property
    def closed(self) -> bool:
        """True once the iteration ended or `close()` ran (no ffmpeg process left)."""
        return self._done

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> VideoReader:
        return self

    def __next__(self) -> np.ndarray:
        if self._done:
            raise StopIteration
        if self.stop is not None and self.start + self.frames_read >= self.stop:
            # A deliberate end: no need to wait for (or judge) the rest of the stream.
            self.close()
            raise StopIteration
        if self._proc is None:
            self._spawn()
        try:
            while self._decoded < self.start:
                if self._read_frame() is None:
                    break
            frame = self._read_frame()
        except BaseException:
            self.close()
            raise
        if frame is None:
            self._finish()  # raises if the stream ended for a bad reason
            raise StopIteration
        self.frames_read += 1
        return frame

    def close(self) -> None:
        """Stop decoding and reap ffmpeg; safe to call at any time, repeatedly."""
        self._done = True
        stop_process(self._proc)
        self._proc = None
        if self._stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                self.decode_errors = count_errors(read_stderr(self._stderr))
            self._stderr.close()
            self._stderr = None

    def __del__(self) -> None:
        # Last-resort cleanup for readers dropped without close(); never raise here.
        if getattr(self, "_proc", None) is not None:
            self.close()

    def _spawn(self) -> None:
        fps = self.info.fps
        hwaccel = (
            []
            if self.nvdec_gpu is None
            else ["-hwaccel", "cuda", "-hwaccel_device", str(self.nvdec_gpu)]
        )
        args = [
            "-v", "error",
            *codec_thread_args(),
            *hwaccel,
            "-i", ffmpeg_path(self.path),
            "-map", "0:V:0",
            # Constant rate at the probed fps: frame n is at n/fps, which is what the
            # output sinks assume; for CFR sources this neither drops nor duplicates.
            "-fps_mode", "cfr",
            "-r", f"{fps.numerator}/{fps.denominator}",
        ]  # fmt: skip
        if self.stop is not None:
            args += ["-frames:v", str(self.stop)]
        args += ["-pix_fmt", "rgb24", "-f", "rawvideo", "-"]
        self._proc, self._stderr = popen_ffmpeg(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )

    def _read_frame(self) -> np.ndarray | None:
        """Next raw frame from the pipe, or None at a clean end of stream."""
        assert self._proc is not None and self._proc.stdout is not None
        buf = bytearray(self._frame_bytes)
        view = memoryview(buf)
        got = 0
        while got < self._frame_bytes:
            n = self._proc.stdout.readinto(view[got:])
            if not n:
                break
            got += n
        if got == 0:
            return None
        if got < self._frame_bytes:
            raise MediaError(
                f"decoding {self.path} stopped in the middle of frame {self._decoded + 1}"
            )
        self._decoded += 1
        return np.frombuffer(buf, dtype=np.uint8).reshape(self.info.height, self.info.width, 3)

    def _finish(self) -> None:
        """End of the pipe: reap ffmpeg, then decide whether the ending was legitimate."""
        assert self._proc is not None and self._stderr is not None
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        returncode = self._proc.wait()
        stderr = read_stderr(self._stderr)
        self.close()
        reason = error_reason(stderr)
        if self._decoded == 0:
            raise InputError(f"{self.path} contains no decodable video frames ({reason})")
        if returncode != 0:
            raise MediaError(
                f"decoding {self.path} failed after {counted(self._decoded, 'frame')}: {reason}"
            )
        if error_lines(stderr):
            # ffmpeg exits 0 on a truncated file, logging errors. Damaged-but-complete
            # files also log errors, so only a shortfall against the container's own
            # duration (or an unknown duration) counts as truncation.
            expected = self.info.frame_count_estimate
            if expected is not None and self.stop is not None:
                expected = min(expected, self.stop)
            tolerance = max(2, round(0.02 * (expected or 0)))
            if expected is None or self._decoded + tolerance < expected:
                about = f" of about {expected}" if expected is not None else ""
                raise MediaError(
                    f"{self.path} is truncated or damaged: decoded {self._decoded}{about} "
                    f"frames ({reason})"
                )


@dataclass(frozen=True)
class StreamTiming:
    """Measured (fully decoded) length of one audio or video stream."""

    index: int
    kind: Literal["video", "audio"]
    codec: str  # codec in the file, e.g. "h264", "aac"
    frames: int  # decoded video frames, or decoded audio frames (sample blocks)
    samples: int | None  # audio samples; None for video
    duration: float  # seconds: sum of decoded frame/sample durations


def probe_streams(path: str | os.PathLike[str]) -> list[StreamTiming]:
    """Decode every audio and video stream and report exact frame counts and durations.

    Slow on long files (full decode) - meant for tests and diagnostics, not the hot path.
    Raises `InputError` if ffmpeg cannot open the file, `MediaError` if decoding fails.
    """
    p = check_input_file(path, "media file")
    proc = run_ffmpeg(
        [
            "-i", ffmpeg_path(p),
            "-map", "0:v?", "-map", "0:a?",
            # Passthrough: count what the decoder emits, without CFR duplication/dropping.
            "-fps_mode", "passthrough",
            # Tiny frames keep the per-frame CRC work negligible; the count is unaffected.
            "-vf", "scale=16:16,format=gray",
            "-c:v", "rawvideo", "-c:a", "pcm_s16le",
            "-f", "framecrc", "-",
        ]
    )  # fmt: skip
    stderr = proc.stderr.decode("utf-8", errors="replace")
    listing = parse_input_listing(stderr)
    if not listing.opened:
        raise InputError(f"{p} is not a readable media file ({error_reason(stderr)})")
    if proc.returncode != 0:
        raise MediaError(f"decoding {p} failed: {error_reason(stderr)}")
    # Output stream k of framecrc corresponds to the k-th mapped input stream: video
    # streams first, then audio, each in file order (that is how the -map options read).
    mapped = [s for s in listing.streams if s.kind == "video"]
    mapped += [s for s in listing.streams if s.kind == "audio"]
    timebase: dict[int, Fraction] = {}
    frames: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for line in proc.stdout.decode("ascii", errors="replace").splitlines():
        if line.startswith("#tb "):
            key, value = line[4:].split(":", 1)
            num, den = value.strip().split("/")
            timebase[int(key)] = Fraction(int(num), int(den))
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            k = int(fields[0])
            frames[k] = frames.get(k, 0) + 1
            ticks[k] = ticks.get(k, 0) + int(fields[3])
    result = []
    for k, stream in enumerate(mapped):
        tb = timebase.get(k, Fraction(0))
        is_audio = stream.kind == "audio"
        samples = ticks.get(k, 0) if is_audio and tb.numerator == 1 else None
        result.append(
            StreamTiming(
                index=stream.index,
                kind="audio" if is_audio else "video",
                codec=stream.codec,
                frames=frames.get(k, 0),
                samples=samples,
                duration=float(ticks.get(k, 0) * tb),
            )
        )
    return result


def probe_audio_codec(path: str | os.PathLike[str]) -> str | None:
    """Codec of the first audio stream of any media file ("aac", "opus", ...), or None.

    Cheap (reads headers only). Raises `InputError` if ffmpeg cannot open the file.
    """
    p = check_input_file(path, "media file")
    stderr = run_ffmpeg(["-i", ffmpeg_path(p)]).stderr.decode("utf-8", errors="replace")
    listing = parse_input_listing(stderr)
    if not listing.opened:
        raise InputError(f"{p} is not a readable media file ({error_reason(stderr)})")
    audio = listing.first("audio")
    return audio.codec if audio else None


def has_audio(path: str | os.PathLike[str]) -> bool:
    """True if the file has at least one audio stream (headers only)."""
    return probe_audio_codec(path) is not None


def count_frames(path: str | os.PathLike[str]) -> int:
    """Exact number of frames the first video stream decodes to (full decode)."""
    for stream in probe_streams(path):
        if stream.kind == "video":
            return stream.frames
    raise InputError(f"{path} has no video stream")
