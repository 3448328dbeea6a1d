"""``animate crop VIDEO``: face clips cut out of small videos of a real face.

The face is scikit-image's astronaut, panned and zoomed over a 480×270 canvas and encoded
with a sine soundtrack by the bundled ffmpeg, so everything runs offline with the LBP
detector. Videos are short (at most 60 frames) to keep the module fast.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from faces.faces_testutil import make_canvas, place_astronaut
from testutil import FFMPEG
from typer.testing import CliRunner

from animatecli import crop, faces
from animatecli.cli import app
from animatecli.faces import CropPath, FaceBox, LbpCascadeBackend
from animatecli.media import VideoReader, count_frames, probe_streams, probe_video

runner = CliRunner()
FAST = ["--detector", "opencv", "--preset", "ultrafast"]
NTSC = Fraction(30000, 1001)


def write_video(path: Path, frames: list[np.ndarray], fps: Fraction, audio: bool = True) -> Path:
    """Encode RGB frames (H.264, yuv420p) with an optional 440 Hz AAC track as long."""
    h, w = frames[0].shape[:2]
    cmd = [
        FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
        "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "-",
    ]  # fmt: skip
    if audio:
        seconds = len(frames) / fps
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        cmd += ["-t", f"{float(seconds):.6f}", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p"]
    cmd += ["-g", "12", str(path)]  # short GOPs: the clips below start mid-GOP
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def panning(n: int) -> list[np.ndarray]:
    """One face drifting right by 20 px and zooming in by 13% over ``n`` frames."""
    bg = make_canvas(270, 480, "noise", seed=3)
    frames = []
    for i in range(n):
        t = i / (n - 1)
        frame, _ = place_astronaut(bg, 0.75 + 0.1 * t, (200 + 20 * t, 130 + 5 * t))
        frames.append(frame)
    return frames


TWO_FACE_CENTRES = ((125, 130), (355, 135))


def two_faces(n: int) -> list[np.ndarray]:
    """Two astronauts side by side, slowly drifting towards each other."""
    frames = []
    for i in range(n):
        (lx, ly), (rx, ry) = TWO_FACE_CENTRES
        frame, _ = place_astronaut(make_canvas(270, 480, "gray"), 0.6, (lx + i / 2, ly))
        frame, _ = place_astronaut(frame, 0.6, (rx - i / 2, ry))
        frames.append(frame)
    return frames


def counter(n: int) -> list[np.ndarray]:
    """Frame i is uniformly gray at level 4 + 6 i: its index can be read back after encoding."""
    return [np.full((96, 128, 3), 4 + 6 * i, np.uint8) for i in range(n)]


@dataclass(frozen=True)
class Videos:
    pan: Path  # 60 frames at 30000/1001 fps, one face, AAC
    two: Path  # 40 frames at 25 fps, two faces, AAC
    empty: Path  # 15 frames at 25 fps, textured background, no face
    counter: Path  # 40 frames at 30000/1001 fps, frame index in the gray level, AAC


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    root = tmp_path_factory.mktemp("crop_videos")
    return Videos(
        pan=write_video(root / "pan.mp4", panning(60), NTSC),
        two=write_video(root / "two.mp4", two_faces(40), Fraction(25)),
        empty=write_video(
            root / "empty.mp4", [make_canvas(270, 480, "noise", seed=9)] * 15, Fraction(25)
        ),
        counter=write_video(root / "counter.mp4", counter(40), NTSC),
    )


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["crop", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def frame_at(path: Path, index: int) -> np.ndarray:
    with VideoReader(path, start=index, stop=index + 1) as reader:
        return next(reader)


def test_panning_face_becomes_an_exact_clip_with_sound(videos: Videos, tmp_path: Path) -> None:
    outdir = tmp_path / "faces"
    code, stdout, stderr = invoke(videos.pan, "-o", outdir, "--json", *FAST)
    assert code == 0, stderr
    report = json.loads(stdout)
    source = probe_video(videos.pan)
    assert report["fps"] == "30000/1001" and report["detector"] == "lbp"
    assert report["every"] == 6  # 5 detections per second at 29.97 fps
    assert len(report["clips"]) >= 1
    stages = report["stage_seconds"]
    assert set(stages) == {"scan", "write"} and 0 < sum(stages.values()) <= report["seconds"]
    lbp = LbpCascadeBackend()
    for entry in report["clips"]:
        clip, sidecar = Path(entry["path"]), json.loads(Path(entry["sidecar"]).read_text())
        assert clip.parent == outdir and clip.name.startswith("pan_face")
        assert Path(entry["sidecar"]) == clip.with_suffix(".json")
        start, end = sidecar["start_frame"], sidecar["end_frame"]
        assert clip.name.endswith(f"_{start:06d}-{end:06d}.mp4")
        x0, y0, x1, y1 = sidecar["box"]
        assert x1 - x0 == y1 - y0 > 0 and min(x0, y0) >= 0 and x1 <= 480 and y1 <= 270
        assert sidecar["fps"] == "30000/1001" and sidecar["size"] == 256
        assert sidecar["detector"] == "lbp" and Path(sidecar["source"]) == videos.pan.resolve()
        assert sidecar["start_seconds"] == pytest.approx(float(start / NTSC), abs=1e-6)
        assert sidecar["end_seconds"] == pytest.approx(float((end + 1) / NTSC), abs=1e-6)
        frames = end - start + 1
        assert frames >= 30  # at least --min-seconds (1 s)
        info = probe_video(clip)
        assert info.fps == source.fps == NTSC and (info.width, info.height) == (256, 256)
        streams = {s.kind: s for s in probe_streams(clip)}
        assert streams["video"].frames == frames == entry["frames"]
        assert abs(streams["audio"].duration - float(frames / NTSC)) <= float(1 / NTSC)
        middle = frame_at(clip, frames // 2)
        faces_found = lbp.detect(middle)
        assert faces_found, "no face in the middle of the clip"
        assert faces_found[0].area >= 0.3 * 256 * 256
    # The face is on screen throughout: one clip, the whole video.
    assert [(c["start_frame"], c["end_frame"]) for c in report["clips"]] == [(0, 59)]
    assert not list(outdir.glob(".*")), "temporary files left behind"

    # A second run refuses to overwrite the clips, before writing anything ...
    clip_path = Path(report["clips"][0]["path"])
    before = clip_path.read_bytes()
    code, _, stderr = invoke(videos.pan, "-o", outdir, *FAST)
    assert code == 2 and "--overwrite" in one_line_error(stderr)
    assert clip_path.read_bytes() == before
    # ... unless told to.
    code, _, stderr = invoke(videos.pan, "-o", outdir, "-y", "-q", *FAST)
    assert code == 0, stderr
    assert stderr.strip() == ""


def test_two_faces_give_two_clips_with_disjoint_boxes(videos: Videos, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(videos.two, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    clips = json.loads(stdout)["clips"]
    assert len(clips) == 2, clips
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = sorted(c["box"] for c in clips)
    assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, "boxes overlap"
    for (cx, cy), box in zip(TWO_FACE_CENTRES, sorted(c["box"] for c in clips), strict=True):
        assert box[0] < cx < box[2] and box[1] < cy < box[3]
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == sorted(
        Path(c["path"]).name for c in clips
    )
    assert [c["index"] for c in clips] == [1, 2]


def test_no_face_exits_3_and_writes_nothing(
    videos: Videos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default output folder would be ./empty_faces/
    code, stdout, stderr = invoke(videos.empty, *FAST)
    assert code == 3
    assert "no face found" in one_line_error(stderr)
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def _bad_case(case: str, tmp_path: Path, videos: Videos) -> list[str | Path]:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    return {
        "missing video": [tmp_path / "nope.mp4"],
        "text named mp4": [text],
        "odd size": [videos.pan, "--size", "255"],
        "output is a file": [videos.pan, "-o", blocker],
    }[case]


@pytest.mark.parametrize(
    "case", ["missing video", "text named mp4", "odd size", "output is a file"]
)
def test_bad_input_is_a_one_line_error(
    videos: Videos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    args = _bad_case(case, tmp_path, videos)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    code, _, stderr = invoke(*args, *FAST)
    assert code == 2
    one_line_error(stderr)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(("start", "end"), [(0, 9), (13, 29), (31, 39)])
def test_clip_cutting_is_frame_exact(videos: Videos, tmp_path: Path, start: int, end: int) -> None:
    """Frames ``start..end`` exactly, mid-GOP starts included, with the sound of those frames."""
    info = probe_video(videos.counter)
    path = tmp_path / "c.mp4"
    clip = crop.FaceClip(
        index=1, path=path, sidecar=path.with_suffix(".json"),
        crop=CropPath(start, np.tile([64.0, 48.0], (end - start + 1, 1)), 96, follows=False),
        face_box=(20.0, 4.0, 108.0, 92.0), fps=info.fps, size=64, score=10.0, detections=1,
    )  # fmt: skip
    crop.write_clip(clip, info, crop.CropOptions(preset="ultrafast"), "lbp")
    with VideoReader(path) as reader:
        levels = [float(frame.mean()) for frame in reader]
    expected = [4 + 6 * i for i in range(start, end + 1)]
    assert np.abs(np.array(levels) - expected).max() < 2.5, (levels, expected)
    audio = {s.kind: s for s in probe_streams(path)}["audio"]
    assert abs(audio.duration - float((end - start + 1) / info.fps)) <= float(1 / info.fps)
    assert json.loads(clip.sidecar.read_text())["frames"] == end - start + 1


def test_default_stride_and_score(videos: Videos) -> None:
    assert faces.default_stride(Fraction(25)) == 5
    assert faces.default_stride(NTSC) == 6
    assert faces.default_stride(Fraction(10)) == 2
    assert faces.default_stride(Fraction(4)) == 1
    assert crop.default_min_score("lbp") == 8.0
    assert crop.default_output_dir(Path("/x/talk.mov")) == Path("talk_faces")


def test_scan_examines_every_nth_and_the_last_frame(videos: Videos) -> None:
    """With a stride that skips the end, the last frame is still examined (tube to the end)."""
    seen: list[int] = []

    class Recorder:
        name = "recorder"
        supports_landmarks = False

        def detect(self, image: np.ndarray) -> list[FaceBox]:
            seen.append(round((float(image.mean()) - 4) / 6))  # the counter's frame index
            return []

        def landmarks(self, image: np.ndarray) -> list[np.ndarray]:
            raise NotImplementedError

    result = crop.scan_faces(probe_video(videos.counter), Recorder(), 7)
    assert (result.frames, result.detected, result.tubes) == (40, 7, [])
    assert result.detector == "recorder"
    assert seen == [0, 7, 14, 21, 28, 35, 39]


def test_a_failed_write_leaves_no_empty_folder(
    videos: Videos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def encoder_fails(*args: object, **kwargs: object) -> None:
        raise crop.MediaError("encoding failed: out of memory")

    monkeypatch.setattr(crop, "write_clip", encoder_fails)
    outdir = tmp_path / "faces"
    code, _, stderr = invoke(videos.pan, "-o", outdir, *FAST)
    assert code == 1
    assert one_line_error(stderr) == "error: encoding failed: out of memory"
    assert list(tmp_path.iterdir()) == []  # the folder this run created is gone again


def test_a_video_named_like_a_protocol_is_cut_from_that_file(
    videos: Videos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 item 8, crop half: ``file:pan.mp4`` is cut from that file, not from
    ``pan.mp4`` (here a faceless 15-frame video), which ffmpeg's protocol would open."""
    import shutil

    shutil.copy(videos.pan, tmp_path / "file:pan.mp4")
    shutil.copy(videos.empty, tmp_path / "pan.mp4")
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = invoke("file:pan.mp4", "-o", "faces", "--json", *FAST)
    assert code == 0, stderr
    clips = json.loads(stdout)["clips"]
    assert clips
    for clip in clips:
        assert count_frames(clip["path"]) == clip["frames"] > 15
        middle = (clip["start_frame"] + clip["end_frame"]) // 2
        with VideoReader(clip["path"], start=middle - clip["start_frame"]) as reader:
            cut = next(reader).astype(int)
        x0, y0, x1, y1 = clip["box"]
        size = cut.shape[1], cut.shape[0]
        wanted = cv2.resize(frame_at(videos.pan, middle)[y0:y1, x0:x1], size).astype(int)
        stand_in = cv2.resize(frame_at(videos.empty, 0)[y0:y1, x0:x1], size).astype(int)
        assert np.abs(cut - wanted).mean() < np.abs(cut - stand_in).mean() / 3


def test_a_one_frame_clip_with_a_face_is_too_short_not_faceless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 item 19: the face is found; the clip is what is too short."""
    write_video(tmp_path / "still.mp4", panning(2)[:1], Fraction(25), audio=False)
    monkeypatch.chdir(tmp_path)
    code, _, stderr = invoke("still.mp4", *FAST)
    line = one_line_error(stderr)
    assert code == 2, line
    assert "still.mp4 is too short for a face clip (1 frame, 0.04 s)" in line
    assert "no face" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.mp4"]
