"""``animate crop`` on real-face footage that moves, shakes, is rotated or is a wide shot.

The footage is built from skimage's astronaut photo (tests/faces/footage.py) and goes through
real ffmpeg; the default detector here is dlib (face-alignment's weights are never cached in
the test environment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from faces.faces_testutil import box_iou
from faces.footage import (
    face_among_textures,
    flash_and_tone_seconds,
    pan,
    still_noisy,
    two_faces,
    write_vfr_flash,
    write_video,
    zoom,
)
from faces.footage import small_in_wide as wide_shot
from typer.testing import CliRunner

from animatecli import crop
from animatecli.cli import app
from animatecli.faces import DlibBackend
from animatecli.media import VideoReader, probe_streams

runner = CliRunner()
FAST = ["--preset", "ultrafast"]


@dataclass(frozen=True)
class Footage:
    pan: Path  # 3 s at 30 fps, 640×360, a 150-px face crossing from x=128 to x=512
    still: Path  # 2 s at 30 fps, 640×360, a 140-px face shaking ±3 px, noise + JPEG
    two: Path  # 1.2 s at 25 fps, 640×360, two 110-px faces
    phone: Path  # 1.2 s at 25 fps, stored 640×360 with a 90° rotation flag: upright 360×640
    wide: Path  # 1 s at 10 fps, 1920×1080, one 110-px face
    zoom: Path  # 2 s at 30 fps, 640×360, a face growing from 110 to 170 px


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    root = tmp_path_factory.mktemp("footage")
    upright = list(pan(30, size=(640, 360), face=130.0))
    # Stored turned a quarter clockwise; the flag (90° counter-clockwise) turns it back.
    stored = [np.ascontiguousarray(np.rot90(f, k=-1)) for f in upright]
    return Footage(
        pan=write_video(root / "pan.mp4", list(pan(90))),
        still=write_video(root / "still.mp4", list(still_noisy(60))),
        two=write_video(root / "two.mp4", list(two_faces(30)), Fraction(25)),
        phone=write_video(root / "phone.mp4", stored, Fraction(25), rotation=90),
        wide=write_video(root / "wide.mp4", list(wide_shot(10, face=110.0)), Fraction(10)),
        zoom=write_video(root / "zoom.mp4", list(zoom(60))),
    )


@pytest.fixture(scope="module")
def dlib_backend() -> DlibBackend:
    return DlibBackend()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["crop", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def clip_frames(path: Path, every: int = 10) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f for i, f in enumerate(reader) if i % every == 0]


def test_a_face_panning_across_the_frame_gives_a_following_clip(
    footage: Footage, tmp_path: Path, dlib_backend: DlibBackend
) -> None:
    code, stdout, stderr = invoke(footage.pan, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["detector"] == "dlib" and result["track"] == "auto"
    (clip,) = result["clips"]
    assert clip["track"] == "follow" and clip["frames"] / 30 >= 1.0
    assert clip["frames"] >= 84  # the whole pass, to within one detection stride
    sidecar = json.loads(Path(clip["sidecar"]).read_text())
    assert sidecar["track"] == "follow" and len(sidecar["boxes"]) == clip["frames"]
    xs = [b[0] for b in sidecar["boxes"]]
    assert xs == sorted(xs) and xs[-1] - xs[0] > 300  # the crop moved with her, rightwards
    # The face, found again in the clip, spans at least a quarter of its width everywhere.
    for frame in clip_frames(Path(clip["path"])):
        (box,) = dlib_backend.detect(frame)
        assert box.width >= 0.25 * 256 and box.x1 >= 0 and box.x2 <= 256
    assert [s.kind for s in probe_streams(clip["path"])] == ["video", "audio"]


def test_fomms_fixed_crop_loses_the_panning_face(footage: Footage, tmp_path: Path) -> None:
    code, _, stderr = invoke(footage.pan, "-o", tmp_path, "--track", "static", *FAST)
    assert code == 3 and "no face stays in view for 1 s" in stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("detector", ["dlib", "opencv"])
def test_following_crop_on_a_shaking_face_does_not_jitter(
    footage: Footage, tmp_path: Path, detector: str
) -> None:
    options = crop.CropOptions(track="follow", detector=detector, preset="ultrafast")
    result = crop.crop_video(footage.still, tmp_path, options)
    (clip,) = result.clips  # one person: one clip, no false faces
    assert clip.track == "follow" and clip.frames >= 54
    # Frame-to-frame movement of the crop centre while the face shakes by ±3 px.
    assert clip.crop.max_step() < 0.5
    boxes = np.array(json.loads(clip.sidecar.read_text())["boxes"])
    assert np.ptp(boxes, axis=0).max() <= 6  # no more than the face shakes


def test_auto_keeps_a_still_face_in_one_fixed_crop(footage: Footage, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(footage.still, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    result = json.loads(stdout)
    (clip,) = result["clips"]
    assert clip["track"] == "static" and result["rejected"] == 0
    assert json.loads(Path(clip["sidecar"]).read_text())["boxes"] is None


def test_a_zoom_keeps_one_fixed_crop_holding_the_whole_face(
    footage: Footage, tmp_path: Path, dlib_backend: DlibBackend
) -> None:
    code, stdout, stderr = invoke(footage.zoom, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    (clip,) = json.loads(stdout)["clips"]
    assert clip["track"] == "static" and clip["frames"] >= 54
    frames = clip_frames(Path(clip["path"]), every=59)
    small, large = (dlib_backend.detect(f)[0] for f in frames)  # first and last frame
    assert large.width > 1.3 * small.width >= 0.25 * 256 * 1.3  # the zoom stays in the clip
    assert large.x1 >= 0 and large.x2 <= 256 and large.y2 <= 256


def test_two_faces_give_two_clips(footage: Footage, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(footage.two, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    first, second = json.loads(stdout)["clips"]
    assert box_iou(tuple(first["box"]), tuple(second["box"])) == 0.0


@pytest.mark.parametrize("detector", ["dlib", "opencv"])
def test_one_face_among_textures_and_a_cat_gives_one_clip(
    detector: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp(detector)
    video = write_video(root / "textures.mp4", list(face_among_textures(36)), audio=False)
    code, stdout, stderr = invoke(video, "-o", root / "out", "--json", "--detector", detector)
    assert code == 0, stderr
    report = json.loads(stdout)
    # Neither detector fires on the textures or the cat; her face is one tube, one clip.
    assert report["tubes"] == 1 and len(report["clips"]) == 1
    x0, y0, x1, y1 = report["clips"][0]["face_box"]
    assert x0 < 330 < x1 and y0 < 180 < y1  # her face, nowhere else


def test_a_rotated_phone_video_is_cropped_upright(
    footage: Footage, tmp_path: Path, dlib_backend: DlibBackend
) -> None:
    code, stdout, stderr = invoke(footage.phone, "-o", tmp_path, "--json", *FAST)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert (result["width"], result["height"]) == (360, 640)
    (clip,) = result["clips"]
    frame = clip_frames(Path(clip["path"]))[0]
    (points,) = dlib_backend.landmarks(frame)
    # Upright: eyes above the nose tip, above the mouth.
    assert points[36:48, 1].max() < points[30, 1] < points[48:68, 1].mean()


def test_small_faces_in_a_wide_shot_need_min_face(footage: Footage, tmp_path: Path) -> None:
    code, _, stderr = invoke(footage.wide, "-o", tmp_path / "default", *FAST)
    assert code == 3 and "no face found" in stderr
    code, stdout, stderr = invoke(
        footage.wide, "-o", tmp_path / "small", "--min-face", "80", "--json", *FAST
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["min_face"] == 80
    (clip,) = result["clips"]
    x0, y0, x1, y1 = clip["box"]
    assert x0 < 1400 < x1 and y0 < 400 < y1  # around her face centre
    assert 100 < x1 - x0 < 200


def test_bad_track_and_min_face_are_one_line_errors(footage: Footage, tmp_path: Path) -> None:
    code, _, stderr = invoke(footage.still, "-o", tmp_path, "--track", "sideways")
    assert code == 2 and "--track" in stderr
    code, _, stderr = invoke(footage.still, "-o", tmp_path, "--min-face", "3")
    assert code == 2 and "--min-face" in stderr


def test_variable_frame_rate_clip_keeps_its_sound_in_sync(tmp_path: Path) -> None:
    video = write_vfr_flash(tmp_path / "vfr.mp4")
    result = crop.crop_video(video, tmp_path / "out", crop.CropOptions(preset="ultrafast"))
    (clip,) = result.clips
    assert result.fps == 30 and clip.start_frame == 0
    flash, tone = flash_and_tone_seconds(clip.path, 30.0)
    assert flash == pytest.approx(1.0, abs=1 / 30 + 1e-6)
    assert tone == pytest.approx(flash, abs=1 / 30)
