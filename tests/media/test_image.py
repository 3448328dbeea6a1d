"""Still-image loading, fitting and saving (animatecli.media.image)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from animatecli.errors import InputError, OutputError
from animatecli.media import (
    ALPHA_BACKGROUND,
    PAD_COLOR,
    fit_box,
    fit_geometry,
    fit_image,
    load_image,
    save_png,
)


def _pattern(h: int = 20, w: int = 30) -> np.ndarray:
    """A non-symmetric RGB test picture: every pixel differs from its mirror images."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 8, y * 12, (x + 2 * y) * 3], axis=-1).astype(np.uint8)


# -- load_image ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    img = _pattern()
    path = tmp_path / f"pic.{fmt.lower()}"
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(img).save(path, format=fmt, **kwargs)
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, img)


def test_jpeg_loads_as_rgb(tmp_path: Path) -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    img[..., 0] = 200  # red: a BGR mix-up would show up as blue
    Image.fromarray(img).save(tmp_path / "red.jpg", quality=95)
    out = load_image(tmp_path / "red.jpg")
    assert out.shape == (16, 16, 3)
    assert abs(int(out[..., 0].mean()) - 200) < 4 and out[..., 2].mean() < 4


def test_grayscale_becomes_rgb(tmp_path: Path) -> None:
    gray = _pattern()[..., 0]
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (20, 30, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_rgba_is_composited_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    rgba[0, 1] = (255, 0, 0, 0)  # fully transparent -> background
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert ALPHA_BACKGROUND == (255, 255, 255)
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == ALPHA_BACKGROUND
    assert tuple(out[0, 2]) == (127, 127, 127)  # 255 * (1 - 128/255)


def test_gray_alpha_and_palette_transparency(tmp_path: Path) -> None:
    la = np.zeros((2, 2, 2), np.uint8)
    la[..., 0] = 40
    la[0, 0, 1] = 255
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    out = load_image(tmp_path / "la.png")
    assert tuple(out[0, 0]) == (40, 40, 40) and tuple(out[1, 1]) == (255, 255, 255)

    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 255, 9, 9, 9])
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    pal.save(tmp_path / "p.png", transparency=1)
    out = load_image(tmp_path / "p.png")
    assert tuple(out[0, 0]) == (0, 0, 255) and tuple(out[0, 1]) == (255, 255, 255)


def test_16bit_png_is_rounded_not_truncated(tmp_path: Path) -> None:
    # 257*100 + 129 is 100.502 in 8-bit units: rounding gives 101, a >> 8 shift gives 100.
    gray = np.array([[0, 65535, 257 * 100 + 128, 257 * 100 + 129]], np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), gray)
    out = load_image(tmp_path / "g16.png")
    assert out[0, :, 0].tolist() == [0, 255, 100, 101]

    rgb16 = np.zeros((1, 2, 3), np.uint16)
    rgb16[0, 0] = (65535, 257 * 100 + 129, 0)  # R, G, B
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    out = load_image(tmp_path / "rgb16.png")
    assert tuple(out[0, 0]) == (255, 101, 0)

    rgba16 = np.zeros((1, 1, 4), np.uint16)
    rgba16[0, 0] = (0, 0, 0, 0)  # transparent black over white
    cv2.imwrite(str(tmp_path / "rgba16.png"), rgba16)
    assert tuple(load_image(tmp_path / "rgba16.png")[0, 0]) == (255, 255, 255)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    img = Image.fromarray(_pattern())
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    img.save(path, exif=exif)
    with Image.open(path) as reference:
        expected = np.asarray(ImageOps.exif_transpose(reference).convert("RGB"))
    np.testing.assert_array_equal(load_image(path), expected)


def test_exif_rotated_jpeg_is_upright(tmp_path: Path) -> None:
    # Stored 40 wide x 20 high, left half red; orientation 6 = "rotate 90° clockwise".
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    out = load_image(tmp_path / "phone.jpg")
    assert out.shape == (40, 20, 3)  # portrait once upright
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 50  # top half red
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 50  # bottom half blue


def test_bad_image_paths_raise_input_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x00\x01 definitely not a png " * 10)
    truncated = tmp_path / "truncated.png"
    Image.fromarray(_pattern(64, 64)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:100])
    for path in (garbage, truncated, tmp_path / "missing.png", tmp_path):
        with pytest.raises(InputError) as info:
            load_image(path)
        message = str(info.value)
        assert path.name in message and "\n" not in message


# -- fit_image / fit_box ---------------------------------------------------------------


def _disc_image(h: int, w: int, radius: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[(x - w / 2 + 0.5) ** 2 + (y - h / 2 + 0.5) ** 2 <= radius**2] = 255
    return img


def _extent(mask: np.ndarray, axis: int) -> int:
    idx = np.flatnonzero(mask.any(axis=axis))
    return int(idx[-1] - idx[0] + 1)


def test_crop_keeps_a_circle_round() -> None:
    img = _disc_image(100, 200, 40)  # wide picture, centred disc of diameter 80
    assert fit_box((100, 200), (64, 64), "crop") == (50, 0, 150, 100)
    out = fit_image(img, (64, 64), "crop")
    assert out.shape == (64, 64, 3)
    mask = out[..., 0] > 127
    width, height = _extent(mask, 0), _extent(mask, 1)
    assert abs(width - height) <= 1
    assert abs(width - 80 * 0.64) <= 2  # 100 px of source -> 64 px


def test_crop_box_for_tall_and_equal_aspects() -> None:
    assert fit_box((300, 100), (50, 50), "crop") == (0, 100, 100, 200)
    assert fit_box((120, 160), (240, 320), "crop") == (0, 0, 160, 120)
    assert fit_box((100, 200), (64, 64), "pad") == (0, 0, 200, 100)
    assert fit_box((100, 200), (64, 64), "stretch") == (0, 0, 200, 100)


def test_pad_letterboxes_with_bars() -> None:
    img = np.full((100, 200, 3), 200, np.uint8)
    geo = fit_geometry((100, 200), (50, 50), "pad")
    assert geo.dst_box == (0, 12, 50, 37)
    out = fit_image(img, (50, 50), "pad")
    assert out.shape == (50, 50, 3)
    assert (out[:12] == PAD_COLOR).all() and (out[37:] == PAD_COLOR).all()
    assert (out[12:37] == 200).all()


def test_stretch_and_enlarge() -> None:
    img = _pattern(20, 30)
    assert fit_image(img, (40, 10), "stretch").shape == (40, 10, 3)
    big = fit_image(img, (200, 300), "crop")  # enlarging path (cubic, clipped)
    assert big.shape == (200, 300, 3) and big.dtype == np.uint8
    np.testing.assert_array_equal(fit_image(img, (20, 30), "crop"), img)


def test_geometry_maps_output_points_back_to_source() -> None:
    geo = fit_geometry((100, 200), (64, 64), "crop")
    corners = geo.to_source(np.array([[0.0, 0.0], [64.0, 64.0]]))
    np.testing.assert_allclose(corners, [[50.0, 0.0], [150.0, 100.0]])
    with pytest.raises(ValueError):
        fit_geometry((10, 10), (5, 5), "zoom")  # type: ignore[arg-type]


# -- save_png --------------------------------------------------------------------------


def test_save_png_round_trips_and_leaves_no_temp(tmp_path: Path) -> None:
    img = _pattern()
    save_png(tmp_path / "out.png", img)
    np.testing.assert_array_equal(load_image(tmp_path / "out.png"), img)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_png_into_a_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"out\.png"):
        save_png(tmp_path / "nope" / "out.png", _pattern())
