"""The compose stage: output frames made from the driving frame and the prediction; with
``--upscale`` the predictions arrive ``scale`` times the model's size and the output sizes
and panels follow."""

from __future__ import annotations

import numpy as np
import pytest

from animatecli.options import AnimateOptions
from animatecli.runtime.compose import composer
from animatecli.runtime.source import PreparedImage

HW = (8, 8)


def prepared(full: np.ndarray, box: tuple[int, int, int, int]) -> PreparedImage:
    x0, y0, x1, y1 = box
    return PreparedImage(full, box, full[y0:y1, x0:x1][:8, :8].copy(), None)


@pytest.mark.parametrize("scale", [1, 2])  # 2: the prediction arrives upscaled
def test_the_default_output_is_the_prediction(scale: int) -> None:
    photo = np.full((8, 8, 3), 9, np.uint8)
    compose, size = composer(prepared(photo, (0, 0, 8, 8)), AnimateOptions(), HW, scale=scale)
    side = 8 * scale
    prediction = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    assert size == (side, side)
    assert compose(photo, prediction) is prediction


@pytest.mark.parametrize(
    ("scale", "size", "row", "columns"),
    [
        (1, (24, 8), 0, (0, 8, 16)),
        (2, (48, 16), 8, (4, 20, 36)),  # the panels share the upscaled height
    ],
)
def test_compare_puts_source_driving_and_result_side_by_side(
    scale: int, size: tuple[int, int], row: int, columns: tuple[int, int, int]
) -> None:
    photo = np.full((8, 8, 3), 1, np.uint8)
    driving = np.full((8, 8, 3), 2, np.uint8)
    prediction = np.full((8 * scale, 8 * scale, 3), 3, np.uint8)
    options = AnimateOptions(compare=True)
    compose, got = composer(prepared(photo, (0, 0, 8, 8)), options, HW, scale=scale)
    out = compose(driving, prediction)
    assert got == size and out.shape == (size[1], size[0], 3)
    assert [int(out[row, x, 0]) for x in columns] == [1, 2, 3]


def test_paste_back_returns_the_full_photo_with_the_region_replaced() -> None:
    photo = np.zeros((40, 60, 3), np.uint8)
    source = prepared(photo, (20, 10, 36, 26))  # a 16 px square in a 60×40 photo
    compose, size = composer(source, AnimateOptions(paste_back=True), HW)
    out = compose(source.model_input, np.full((8, 8, 3), 200, np.uint8))
    assert size == (60, 40) and out.shape == (40, 60, 3)
    assert out[18, 28].min() > 150  # the middle of the box took the prediction
    assert out[0, 0].max() == 0 and out[39, 59].max() == 0  # far outside: the photo


def test_paste_back_of_an_upscaled_face_keeps_the_photo_size() -> None:
    photo = np.zeros((40, 60, 3), np.uint8)
    source = prepared(photo, (20, 10, 36, 26))
    compose, size = composer(source, AnimateOptions(paste_back=True), HW, scale=4)
    out = compose(source.model_input, np.full((32, 32, 3), 200, np.uint8))
    assert size == (60, 40) and out.shape == (40, 60, 3)
    assert out[18, 28].min() > 150 and out[0, 0].max() == 0


def test_pad_paste_back_drops_the_bars_of_the_upscaled_prediction() -> None:
    photo = np.zeros((4, 8, 3), np.uint8)  # letterboxed into 8×8: bars above and below
    source = prepared(photo, (0, 0, 8, 4))
    options = AnimateOptions(paste_back=True, fit="pad")
    compose, size = composer(source, options, HW, scale=2)
    prediction = np.zeros((16, 16, 3), np.uint8)
    prediction[4:12] = 200  # the photo's part at ×2; the bars stay black
    out = compose(source.model_input, prediction)
    assert size == (8, 4)
    assert out.min() > 150  # no bar reached the output
