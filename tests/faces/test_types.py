"""The face layer's data types (animatecli.faces.types): boxes, tubes, and the checks and
resizing every detector backend shares."""

from __future__ import annotations

import numpy as np
import pytest

from animatecli.errors import AnimateError
from animatecli.faces import FaceBox, FaceTube
from animatecli.faces.types import DetectorUnavailable, check_image, scaled_copy


def test_facebox_helpers() -> None:
    b = FaceBox(10.0, 20.0, 50.0, 100.0, score=0.7)
    assert (b.width, b.height, b.area, b.center) == (40.0, 80.0, 3200.0, (30.0, 60.0))
    s = b.scaled(0.5)
    assert s.as_tuple() == (5.0, 10.0, 25.0, 50.0) and s.score == 0.7
    assert FaceBox(5, 5, 1, 1).area == 0.0


def test_a_box_side_is_its_longer_edge() -> None:
    assert FaceBox(0, 0, 40, 90).side == 90.0
    assert FaceBox(0, 0, 90, 40).side == 90.0


def test_a_tube_spans_its_frames_and_its_median_ignores_one_odd_box() -> None:
    boxes = {f: FaceBox(0, 0, 100, 100) for f in (3, 6, 9, 12)}
    boxes[15] = FaceBox(0, 0, 400, 400)  # one false hit
    tube = FaceTube(boxes[3], FaceBox(0, 0, 400, 400), start_frame=3, end_frame=16, boxes=boxes)
    assert tube.num_frames == 14
    assert tube.median_side == 100.0
    assert not tube.closed


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((8, 8), np.uint8), r"H×W×3 RGB image, got shape \(8, 8\)"),
        (np.zeros((8, 8, 4), np.uint8), r"got shape \(8, 8, 4\)"),
        (np.zeros((8, 8, 3), np.float32), "expected a uint8 image, got float32"),
        ([[0, 0, 0]], "got shape None"),
    ],
)
def test_detectors_refuse_what_is_not_an_rgb_uint8_image(image: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_image(image)  # type: ignore[arg-type]


def test_scaled_copy_keeps_the_image_at_one_and_resizes_otherwise() -> None:
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert scaled_copy(image, 1.0) is image
    half = scaled_copy(image, 0.5)
    assert half.shape == (30, 40, 3) and half.dtype == np.uint8
    # The area filter averages each 2×2 block.
    blocks = image.reshape(30, 2, 40, 2, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(half - blocks).max() <= 0.5 + 1e-9
    assert scaled_copy(image, 1.5).shape == (90, 120, 3)
    assert scaled_copy(image, 0.001).shape == (1, 1, 3)  # never empty


def test_an_unavailable_detector_is_a_user_facing_error() -> None:
    assert issubclass(DetectorUnavailable, AnimateError)
    # A usage error, like an unusable --device: the user asked for what is not here.
    assert DetectorUnavailable("no weights").exit_code == 2
