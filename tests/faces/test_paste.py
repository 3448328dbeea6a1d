"""Paste-back of an animated crop into the full-resolution source."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from animatecli.faces import PasteBack, square_crop_box

from .faces_testutil import astronaut


def noisy_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def outside_mask(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.ones(shape, dtype=bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = False
    return m


def test_unmodified_crop_of_model_size_round_trips_exactly() -> None:
    img = astronaut()
    box = (100, 20, 356, 276)  # 256×256: no resize either way
    paste = PasteBack(img, box)
    out = paste.paste(img[20:276, 100:356].copy())
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, img)


def test_resized_round_trip_is_close_and_outside_is_identical() -> None:
    img = astronaut()
    box = square_crop_box((178, 62, 266, 168), 0.1, (512, 512))  # FOMM-style crop of the face
    x0, y0, x1, y1 = box
    crop256 = cv2.resize(img[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_CUBIC)
    out = PasteBack(img, box).paste(crop256)
    outside = outside_mask((512, 512), box)
    np.testing.assert_array_equal(out[outside], img[outside])
    diff = np.abs(out.astype(int) - img.astype(int))[y0:y1, x0:x1]
    assert diff.mean() < 2.0  # interpolation error only
    assert diff.max() < 60


def test_outside_box_pixels_stay_identical_for_any_content() -> None:
    img = noisy_image(300, 400)
    box = (50, 60, 250, 260)
    paste = PasteBack(img, box, feather=0.2)
    for seed in range(3):
        out = paste.paste(noisy_image(64, 64, seed=10 + seed))  # upscaled 64 -> 200
        outside = outside_mask((300, 400), box)
        np.testing.assert_array_equal(out[outside], img[outside])
        assert not np.array_equal(out[100:200, 100:200], img[100:200, 100:200])


def test_odd_source_gives_even_output_cropping_the_last_row_and_column() -> None:
    img = noisy_image(301, 401)
    paste = PasteBack(img, (300, 200, 401, 301))  # box touching the odd edges
    assert paste.output_size == (300, 400)
    out = paste.paste(np.zeros((101, 101, 3), np.uint8))
    assert out.shape == (300, 400, 3)
    np.testing.assert_array_equal(out[:200], img[:200, :400])
    # The bottom-right corner touches the image border: no fade there, the crop shows fully.
    assert (out[-1, -1] == 0).all()


def test_mask_is_one_in_the_centre_and_fades_only_at_interior_edges() -> None:
    img = noisy_image(200, 300)
    paste = PasteBack(img, (0, 50, 100, 150), feather=0.1)  # left edge on the image border
    m = paste.mask
    assert m.shape == (100, 100)
    assert m[50, 50] == 1.0
    assert m[0, 50] < 0.01 and m[-1, 50] < 0.01 and m[50, -1] < 0.01  # interior edges
    assert m[50, 0] == 1.0  # border edge: no fade
    assert np.all(np.diff(m[:50, 50]) >= 0)  # monotone ramp towards the centre


def test_hard_paste_and_buffer_reuse() -> None:
    img = noisy_image(100, 100)
    paste = PasteBack(img, (10, 10, 60, 60), feather=0.0)
    white = np.full((50, 50, 3), 255, np.uint8)
    fresh = paste.paste(white)
    assert (fresh[10:60, 10:60] == 255).all()
    shared = paste.paste(white, copy=False)
    again = paste.paste(np.zeros((50, 50, 3), np.uint8), copy=False)
    assert again is shared  # the internal buffer, rewritten in place
    assert (fresh[10:60, 10:60] == 255).all()  # copies are not affected


def test_invalid_arguments() -> None:
    img = noisy_image(100, 100)
    with pytest.raises(ValueError):
        PasteBack(img, (50, 50, 150, 150))  # outside the image
    with pytest.raises(ValueError):
        PasteBack(img.astype(np.float32), (0, 0, 10, 10))
    with pytest.raises(ValueError):
        PasteBack(img, (0, 0, 10, 10)).paste(np.zeros((10, 10), np.uint8))
