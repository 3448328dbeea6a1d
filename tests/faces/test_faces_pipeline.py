"""The face path of the main job on a real face: source auto-crop and paste-back.

Uses the tiny random-weight model (``tiny_checkpoint``): these tests check where pixels go,
not what the model draws. The round trip of `PasteBack` itself is in test_paste.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from testutil import ffmpeg
from typer.testing import CliRunner

from animatecli import media
from animatecli.cli import app
from animatecli.engine.animator import frames_to_tensor
from animatecli.faces import LbpCascadeBackend, square_crop_box
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.alignment import align
from animatecli.runtime.compose import composer
from animatecli.runtime.driving import fitted_frames
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime
from animatecli.runtime.source import prepare_source

from .faces_testutil import astronaut, make_canvas, place_astronaut
from .footage import write_video

MODEL_HW = (64, 64)  # the tiny checkpoint's frame shape


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


def save_photo(path: Path, image: np.ndarray) -> Path:
    media.save_png(path, image)
    return path


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, tuple]:
    """The astronaut's head off-centre (bottom right) on a 640×480 canvas."""
    image, truth = place_astronaut(make_canvas(480, 640, "noise", seed=4), 1.0, (450, 300))
    path = save_photo(tmp_path_factory.mktemp("photos") / "big.png", image)
    return path, image, truth


def contains(outer: tuple, inner: tuple, slack: float = 0.0) -> bool:
    return (
        outer[0] <= inner[0] + slack
        and outer[1] <= inner[1] + slack
        and outer[2] >= inner[2] - slack
        and outer[3] >= inner[3] - slack
    )


def test_auto_crop_is_a_square_around_the_face(
    runtime: Runtime, big_photo: tuple, lbp: LbpCascadeBackend
) -> None:
    path, image, truth = big_photo
    job = AnimationJob(runtime, AnimateOptions(crop_source="auto", detector="opencv"))
    prepared = prepare_source(job, path)
    x0, y0, x1, y1 = prepared.box
    assert prepared.face_found is True
    assert x1 - x0 == y1 - y0 and min(x0, y0) >= 0 and x1 <= 640 and y1 <= 480
    face = lbp.detect(image)[0]
    assert contains(prepared.box, face.as_tuple())
    assert contains(prepared.box, truth, slack=4)  # the face as measured by eye
    assert x1 - x0 < 0.5 * 480  # a face crop, not the whole picture
    np.testing.assert_array_equal(prepared.full, image)
    expected = media.fit_image(image[y0:y1, x0:x1], MODEL_HW, "stretch")
    np.testing.assert_array_equal(prepared.model_input, expected)


@pytest.mark.parametrize(
    ("fit", "box"),
    [("stretch", (0, 0, 640, 480)), ("pad", (0, 0, 640, 480)), ("crop", (80, 0, 560, 480))],
)
def test_crop_source_off_uses_the_whole_image(
    runtime: Runtime, big_photo: tuple, fit: str, box: tuple
) -> None:
    path, image, _ = big_photo
    job = AnimationJob(runtime, AnimateOptions(crop_source="off", fit=fit))  # type: ignore[arg-type]
    prepared = prepare_source(job, path)
    assert prepared.face_found is None  # no detection ran
    assert prepared.box == box  # the whole image (or, with --fit crop, its centre square)
    np.testing.assert_array_equal(prepared.model_input, media.fit_image(image, MODEL_HW, fit))  # type: ignore[arg-type]


def test_paste_back_output_is_the_full_photo_with_only_the_face_box_changed(
    tiny_checkpoint: Path, tmp_path: Path, lbp: LbpCascadeBackend
) -> None:
    # Odd-sized photo: the output is rounded down to even (yuv420p-friendly) dimensions.
    image, _ = place_astronaut(make_canvas(481, 641, "noise", seed=6), 0.9, (200, 260))
    photo = save_photo(tmp_path / "photo.png", image)
    driving = tmp_path / "driving.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-t", "0.2",
           "-c:v", "libx264", "-preset", "ultrafast", str(driving))  # fmt: skip
    outdir = tmp_path / "frames"
    result = CliRunner().invoke(
        app,
        [str(photo), str(driving), "-o", f"{outdir}/", "--paste-back", "--detector", "opencv",
         "--align", "first", "--checkpoint", str(tiny_checkpoint), "-q", "--watermark", "off"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = sorted(outdir.glob("*.png"))
    assert len(written) == 5
    box = square_crop_box(lbp.detect(image)[0], 0.1, (481, 641))  # the pipeline's rule
    x0, y0, x1, y1 = box
    inside = np.zeros((480, 640), bool)
    inside[y0:y1, x0:x1] = True
    reference = image[:480, :640]
    for frame_path in written:
        frame = media.load_image(frame_path)
        assert frame.shape == (480, 640, 3)
        np.testing.assert_array_equal(frame[~inside], reference[~inside])
        assert (frame[inside] != reference[inside]).any()


def test_paste_back_with_pad_fit_drops_the_letterbox_bars(runtime: Runtime, tmp_path: Path) -> None:
    """With --fit pad and no face crop the model sees the photo letterboxed; paste-back must
    put back the photo part of the prediction, not squash the bars into the picture."""
    image = np.zeros((480, 640, 3), np.uint8)
    image[:] = (200, 40, 30)
    path = save_photo(tmp_path / "red.png", image)
    options = AnimateOptions(crop_source="off", fit="pad", paste_back=True)
    prepared = prepare_source(AnimationJob(runtime, options), path)
    assert prepared.box == (0, 0, 640, 480)
    compose, size = composer(prepared, options, runtime.frame_hw)
    assert size == (640, 480)
    # A model that reproduces its input exactly: the paste must give the photo back.
    out = compose(prepared.model_input, prepared.model_input.copy())
    assert out.shape == (480, 640, 3)
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 2


def test_landmark_alignment_keeps_the_chosen_frames_keypoints(
    runtime: Runtime, tmp_path: Path
) -> None:
    """By landmarks the pass runs no keypoint detector per frame; the keypoints it hands
    the animation are those of the chosen frame, computed once at the end."""
    face = cv2.resize(astronaut()[20:260, 130:370], (256, 256), interpolation=cv2.INTER_AREA)
    angles = (15.0, -12.0, 0.0, 10.0, -14.0)  # upright at index 2
    frames = [
        cv2.warpAffine(face, cv2.getRotationMatrix2D((128, 128), a, 1.0), (256, 256),
                       borderMode=cv2.BORDER_REFLECT)
        for a in angles
    ]  # fmt: skip
    driving = media.probe_video(write_video(tmp_path / "tilts.mp4", frames))
    source = save_photo(tmp_path / "upright.png", face)
    options = AnimateOptions(align="best", crop_source="off", crop_driving="off", detector="dlib")
    job = AnimationJob(runtime, options)
    crop, alignment = align(job, prepare_source(job, source), driving)
    assert crop is None
    assert alignment.method == "best frame by dlib face landmarks"
    assert alignment.index == angles.index(0.0)
    fitted = list(fitted_frames(driving, runtime.decoder, runtime.frame_hw, options.fit))
    expected = runtime.animator.keypoints(frames_to_tensor(fitted[alignment.index]))
    assert alignment.keypoints is not None
    assert torch.allclose(alignment.keypoints.value, expected.value, atol=1e-6)
