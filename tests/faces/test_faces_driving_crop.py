"""The main job crops the driving video to its face (``--crop-driving``), on real faces."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from animatecli import media
from animatecli.cli import app
from animatecli.media import VideoReader, probe_streams

from .faces_testutil import astronaut, make_canvas, place_astronaut
from .footage import (
    TILTS,
    flash_and_tone_seconds,
    scale_for,
    tilting_with_distractor,
    write_vfr_flash,
    write_video,
)

runner = CliRunner()
FACE_CENTRE = (430.0, 170.0)  # off-centre in a 640×360 frame: a centre crop misses it
ANGLES = (14.0, -11.0, 9.0, -7.0, 12.0, 0.0, -9.0, 6.0, -12.0, 10.0)  # upright at index 5


def tilted_frames() -> list[np.ndarray]:
    """The astronaut (130-px face) at FACE_CENTRE, tilted by ANGLES degrees in turn."""
    still, _ = place_astronaut(make_canvas(360, 640, "noise", seed=11), scale_for(130), FACE_CENTRE)
    out = []
    for angle in ANGLES:
        turn = cv2.getRotationMatrix2D(FACE_CENTRE, angle, 1.0)
        out.append(cv2.warpAffine(still, turn, (640, 360), borderMode=cv2.BORDER_REFLECT))
    return out


@pytest.fixture(scope="module")
def driving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 5 fps (every frame examined), each tilt held for one frame, with sound."""
    root = tmp_path_factory.mktemp("driving")
    return write_video(root / "wide.mp4", tilted_frames(), Fraction(5))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source") / "astronaut.png"
    media.save_png(path, astronaut())
    return path


def animate(source: Path, driving: Path, out: Path, ckpt: Path, *extra: str) -> dict:
    args = [str(source), str(driving), "-o", str(out), "--checkpoint", str(ckpt)]
    result = runner.invoke(app, [*args, "--json", "--preset", "ultrafast", *extra])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_wide_driving_video_is_cropped_to_the_face_and_aligned_on_landmarks(
    source: Path, driving: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    report = animate(source, driving, out, tiny_checkpoint, "--compare")
    crop = report["driving_crop"]
    assert crop is not None and crop["detector"] == "dlib" and crop["track"] == "static"
    x0, y0, x1, y1 = crop["box"]
    assert x0 < FACE_CENTRE[0] < x1 and y0 < FACE_CENTRE[1] < y1
    assert 120 < x1 - x0 < 200  # the face and its margin, not the whole frame
    # Landmarks (normalised for position and scale) pick the upright frame.
    assert report["alignment_frame"] == ANGLES.index(0.0)
    assert report["alignment_method"] == "best frame by dlib face landmarks"
    # Audio and frame count are those of the whole video.
    assert report["frames"] == len(ANGLES) and report["audio_kept"]
    assert [s.kind for s in probe_streams(out)] == ["video", "audio"]
    # --compare shows the driving panel as the model saw it: the face crop.
    with VideoReader(driving) as reader:
        first = next(reader)
    expected = media.fit_image(first[y0:y1, x0:x1], (64, 64), "stretch").astype(float)
    centred = media.fit_image(first, (64, 64), "crop").astype(float)
    with VideoReader(out) as reader:
        panel = next(reader)[:, 64:128].astype(float)
    assert np.abs(panel - expected).mean() < 8
    assert np.abs(panel - centred).mean() > 3 * np.abs(panel - expected).mean()


def test_best_frame_is_searched_over_every_frame_of_the_main_face_only(
    source: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # 30 fps: faces are detected on every 6th frame; the main face is upright on frame 9
    # only, while a second, upright face on the left leaves after 14 frames.
    video = write_video(tmp_path / "two.mp4", tilting_with_distractor(), Fraction(30))
    report = animate(source, video, tmp_path / "o.mp4", tiny_checkpoint)
    assert report["alignment_method"] == "best frame by dlib face landmarks"
    assert report["alignment_frame"] == TILTS.index(0)
    x0 = report["driving_crop"]["box"][0]
    assert x0 > 300  # the main face's crop, not the distractor's


def test_crop_driving_off_feeds_whole_frames(
    source: Path, driving: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    report = animate(source, driving, tmp_path / "o.mp4", tiny_checkpoint, "--crop-driving", "off")
    assert report["driving_crop"] is None
    assert report["frames"] == len(ANGLES)


def test_a_driving_video_that_is_already_a_face_crop_is_left_whole(
    source: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # Her face fills most of each frame, as in FOMM's own 256×256 driving videos.
    cx, cy = FACE_CENTRE
    tight = [
        cv2.resize(f[int(cy) - 80 : int(cy) + 80, int(cx) - 80 : int(cx) + 80], (128, 128))
        for f in tilted_frames()
    ]
    video = write_video(tmp_path / "tight.mp4", tight, Fraction(5), audio=False)
    report = animate(source, video, tmp_path / "o.mp4", tiny_checkpoint)
    assert report["driving_crop"] is None
    # Whole-frame best-frame search, on dlib landmarks of the model-sized frames.
    assert report["alignment_method"] == "best frame by dlib face landmarks"
    assert report["alignment_frame"] == ANGLES.index(0.0)


def test_bad_crop_driving_value_is_a_usage_error(source: Path, driving: Path) -> None:
    result = runner.invoke(app, [str(source), str(driving), "--crop-driving", "maybe"])
    assert result.exit_code == 2 and "--crop-driving" in result.stderr


def test_variable_frame_rate_driving_video_keeps_its_sound_in_sync(
    source: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    video = write_vfr_flash(tmp_path / "vfr.mp4")
    out = tmp_path / "out.mp4"
    report = animate(source, video, out, tiny_checkpoint, "--compare", "--align", "first")
    assert report["driving_crop"] is not None and report["fps"] == 30
    flash, tone = flash_and_tone_seconds(out, 30.0, crop=(64, 128))  # the driving panel
    assert flash == pytest.approx(1.0, abs=1 / 30 + 1e-6)
    assert tone == pytest.approx(flash, abs=1 / 30)


def test_rotated_phone_driving_video_is_cropped_upright(
    source: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    upright = [np.ascontiguousarray(f[:, 140:500]) for f in tilted_frames()]  # 360×360
    upright = [cv2.copyMakeBorder(f, 140, 140, 0, 0, cv2.BORDER_REFLECT) for f in upright]
    stored = [np.ascontiguousarray(np.rot90(f, k=-1)) for f in upright]  # 640×360 on disk
    video = write_video(tmp_path / "phone.mp4", stored, Fraction(5), rotation=90)
    report = animate(source, video, tmp_path / "o.mp4", tiny_checkpoint)
    crop = report["driving_crop"]
    assert crop is not None
    x0, y0, x1, y1 = crop["box"]
    # In the upright 360×640 picture her face is at (290, 310).
    assert x1 <= 360 and x0 < FACE_CENTRE[0] - 140 < x1 and y0 < FACE_CENTRE[1] + 140 < y1
    assert report["alignment_frame"] == ANGLES.index(0.0)
