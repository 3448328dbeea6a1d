"""Still images: robust loading to H×W×3 uint8 RGB, fitting to a model size, PNG saving.

`fit_image` and `fit_geometry` share one piece of box math, so the pipeline can always
tell which rectangle of the original picture a model-size frame shows.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from animatecli.atomic import write_atomically
from animatecli.errors import InputError
from animatecli.paths import check_input_file

__all__ = [
    "ALPHA_BACKGROUND",
    "PAD_COLOR",
    "FitGeometry",
    "FitMode",
    "fit_box",
    "fit_geometry",
    "fit_image",
    "load_image",
    "save_png",
]

FitMode = Literal["crop", "pad", "stretch"]

ALPHA_BACKGROUND = (255, 255, 255)  # transparent pixels are composited over white
PAD_COLOR = (0, 0, 0)  # letterbox bars of fit_image(mode="pad")

_EXIF_ORIENTATION = 0x0112
# Formats that may hold more than 8 bits per channel; Pillow would silently truncate
# 16-bit RGB(A) to 8 bits, so these are decoded by OpenCV when they are that deep.
_DEEP_FORMATS = {"PNG", "TIFF"}
# Decoding budget: the samples of the picture as decoded, three channels at the file's
# bytes per sample. 256 MiB is an 8-bit RGB picture at Pillow's own pixel limit; a deeper
# picture gets fewer pixels (a 16-bit one half as many). Pillow's limit counts pixels
# only, so a 16-bit 12000×12000 PNG of under a megabyte slips under it.
MAX_DECODED_BYTES = 256 * 2**20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_BITS_PER_SAMPLE = 258


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) so the array shows the picture upright."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return image if op is None else np.ascontiguousarray(op(image))


def _decode_deep(path: Path) -> np.ndarray | None:
    """A >8-bit PNG/TIFF as an RGB/RGBA/gray uint16 array; None if it is 8-bit."""
    data = np.fromfile(path, dtype=np.uint8)
    # IMREAD_UNCHANGED keeps the bit depth and alpha (and ignores EXIF, applied later).
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.dtype != np.uint16:
        return None
    if decoded.ndim == 3 and decoded.shape[2] == 3:
        return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    return decoded


def _bytes_per_sample(im: Image.Image, path: Path) -> int:
    """Bytes per sample of the picture as it will be decoded (from its header only)."""
    if im.mode in ("I", "F") or im.mode.startswith("I;32"):
        return 4
    if im.mode.startswith("I;16"):
        return 2
    if im.format == "PNG":  # Pillow opens 16-bit RGB(A) PNGs as 8-bit modes: read IHDR
        with open(path, "rb") as f:
            head = f.read(26)
        if head.startswith(_PNG_SIGNATURE) and len(head) == 26 and head[24] == 16:
            return 2
    if im.format == "TIFF":
        bits = im.tag_v2.get(_TIFF_BITS_PER_SAMPLE, 8)  # type: ignore[attr-defined]
        widest = max(bits) if isinstance(bits, tuple) else int(bits)
        return max(1, -(-int(widest) // 8))
    return 1


def _check_decode_budget(im: Image.Image, path: Path) -> None:
    """`InputError` when decoding ``im`` would take more than `MAX_DECODED_BYTES`."""
    width, height = im.size
    depth = _bytes_per_sample(im, path)
    needed = width * height * 3 * depth
    if needed > MAX_DECODED_BYTES:
        raise InputError(
            f"image {path} is too large to load safely: {width}×{height} pixels at "
            f"{8 * depth} bits per sample need {needed / 2**20:.0f} MB to decode, more than "
            f"the {MAX_DECODED_BYTES / 2**20:.0f} MB allowed"
        )


def _integer_full_scale(pixels: np.ndarray) -> float:
    """The full-scale value of 32-bit integer samples: the smallest of 8, 16 and 32 bits
    that holds the largest value. 32-bit containers usually carry 8- or 16-bit data
    (ImageJ, scientific software); taking them as 32-bit would make them black."""
    top = int(pixels.max(initial=0))
    for full_scale in (255, 65535):
        if top <= full_scale:
            return float(full_scale)
    return float(2**32 - 1)


def _pil_to_array(im: Image.Image) -> tuple[np.ndarray, float]:
    """Pixel array (H×W, H×W×2 gray+alpha, H×W×3 or H×W×4) and its full-scale value."""
    mode = im.mode
    if mode in ("RGB", "L", "RGBA", "LA"):
        return np.asarray(im), 255.0
    if mode.startswith("I;16"):  # 16-bit grayscale, either byte order
        return np.asarray(im, dtype=np.uint16), 65535.0
    if mode.startswith("I"):  # 32-bit integer grayscale, range from its values
        arr = np.clip(np.asarray(im, dtype=np.int64), 0, 2**32 - 1)
        full_scale = _integer_full_scale(arr)
        return arr.astype(np.float32 if full_scale > 65535 else np.uint16), full_scale
    if mode == "F":  # float TIFFs: [0, 1] by convention, else assume [0, 255]
        arr = np.nan_to_num(np.asarray(im, dtype=np.float32))
        return arr, 1.0 if arr.max(initial=0.0) <= 1.0 else 255.0
    has_alpha = mode in ("PA", "RGBa", "La") or "transparency" in im.info
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB")), 255.0


def _to_rgb8(pixels: np.ndarray, full_scale: float) -> np.ndarray:
    """Gray/gray+alpha/RGB/RGBA of any depth -> H×W×3 uint8, alpha over ALPHA_BACKGROUND."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = pixels[:, :, -1:]
        pixels = pixels[:, :, :-1]
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    if alpha is None and pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    rgb = pixels.astype(np.float32) * (255.0 / full_scale)
    if alpha is not None:
        a = alpha.astype(np.float32) / full_scale
        background = np.asarray(ALPHA_BACKGROUND, dtype=np.float32)
        rgb = rgb * a + background * (1.0 - a)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a picture as H×W×3 uint8 RGB, upright (EXIF orientation applied).

    PNG, JPEG, WebP, BMP, TIFF and anything else Pillow reads. Grayscale is expanded to
    RGB, transparency is composited over `ALPHA_BACKGROUND` (white), 16-bit data is
    rounded to 8 bits. Animated files give their first frame. Missing file, folder or
    undecodable data -> `InputError` naming the file.
    """
    p = check_input_file(path, "image")
    try:
        with warnings.catch_warnings():
            # Pillow warns before it raises DecompressionBombError; the error is enough.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                _check_decode_budget(im, p)
                im.load()
                orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
                deep = _decode_deep(p) if im.format in _DEEP_FORMATS else None
                if deep is not None:
                    pixels, full_scale = deep, 65535.0
                else:
                    pixels, full_scale = _pil_to_array(im)
    except Image.DecompressionBombError as exc:
        raise InputError(f"image {p} is too large to load safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{p} is not a readable image file") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated / corrupt data
        raise InputError(f"image {p} could not be decoded ({exc})") from exc
    if pixels.size == 0:
        raise InputError(f"image {p} is empty")
    return _orient(_to_rgb8(pixels, full_scale), orientation)


@dataclass(frozen=True)
class FitGeometry:
    """How `fit_image` maps a source picture onto a destination frame.

    `src_box` = (x0, y0, x1, y1): the source pixels that are used (the centre crop for
    "crop", the whole picture otherwise). `dst_box` = (x0, y0, x1, y1): where they land
    in the destination (the whole frame, except inside the bars for "pad").
    Boxes are half-open pixel rectangles.
    """

    src_hw: tuple[int, int]
    dst_hw: tuple[int, int]
    src_box: tuple[int, int, int, int]
    dst_box: tuple[int, int, int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): destination pixels per source pixel."""
        sx0, sy0, sx1, sy1 = self.src_box
        dx0, dy0, dx1, dy1 = self.dst_box
        return (dx1 - dx0) / (sx1 - sx0), (dy1 - dy0) / (sy1 - sy0)

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """Map N×2 (x, y) destination-pixel coordinates to source-pixel coordinates."""
        sx, sy = self.scale
        pts = np.asarray(points, dtype=np.float64)
        out = np.empty_like(pts)
        out[..., 0] = (pts[..., 0] - self.dst_box[0]) / sx + self.src_box[0]
        out[..., 1] = (pts[..., 1] - self.dst_box[1]) / sy + self.src_box[1]
        return out


def fit_geometry(
    src_hw: tuple[int, int], dst_hw: tuple[int, int], mode: FitMode = "crop"
) -> FitGeometry:
    """The box math behind `fit_image`, without touching pixels."""
    h, w = src_hw
    H, W = dst_hw
    if min(h, w, H, W) <= 0:
        raise ValueError(f"sizes must be positive, got source {src_hw} and target {dst_hw}")
    whole_src = (0, 0, w, h)
    whole_dst = (0, 0, W, H)
    if mode == "stretch":
        return FitGeometry(src_hw, dst_hw, whole_src, whole_dst)
    if mode == "crop":
        # Compare aspect ratios exactly in integers: w/h > W/H  <=>  w*H > W*h.
        if w * H > W * h:  # source is wider: keep full height, trim the sides
            cw = min(w, max(1, round(h * W / H)))
            x0 = (w - cw) // 2
            return FitGeometry(src_hw, dst_hw, (x0, 0, x0 + cw, h), whole_dst)
        ch = min(h, max(1, round(w * H / W)))
        y0 = (h - ch) // 2
        return FitGeometry(src_hw, dst_hw, (0, y0, w, y0 + ch), whole_dst)
    if mode == "pad":
        scale = min(W / w, H / h)
        nw = min(W, max(1, round(w * scale)))
        nh = min(H, max(1, round(h * scale)))
        x0, y0 = (W - nw) // 2, (H - nh) // 2
        return FitGeometry(src_hw, dst_hw, whole_src, (x0, y0, x0 + nw, y0 + nh))
    raise ValueError(f"unknown fit mode {mode!r}; use 'crop', 'pad' or 'stretch'")


def fit_box(
    src_hw: tuple[int, int], dst_hw: tuple[int, int], mode: FitMode = "crop"
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the source pixels that `fit_image` uses, in source pixels."""
    return fit_geometry(src_hw, dst_hw, mode).src_box


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image.copy()
    # INTER_AREA averages when shrinking (no aliasing); cubic is sharper when enlarging
    # and cv2 saturates uint8 results, so its overshoot is clipped to 0..255.
    shrinking = width * height < w * h
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interp)


def fit_image(image: np.ndarray, size: tuple[int, int], mode: FitMode = "crop") -> np.ndarray:
    """Fit an H×W×3 uint8 image to `size` = (height, width).

    "crop": centre-crop to the target aspect, then resize (never squashes);
    "pad": resize to fit inside, letterbox with `PAD_COLOR` bars;
    "stretch": plain resize, aspect not kept.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 image, got {image.shape} {image.dtype}")
    geo = fit_geometry(image.shape[:2], size, mode)
    sx0, sy0, sx1, sy1 = geo.src_box
    dx0, dy0, dx1, dy1 = geo.dst_box
    content = _resize(image[sy0:sy1, sx0:sx1], dx1 - dx0, dy1 - dy0)
    if (dx0, dy0, dx1, dy1) == (0, 0, size[1], size[0]):
        return np.ascontiguousarray(content)
    out = np.empty((size[0], size[1], 3), dtype=np.uint8)
    out[:] = PAD_COLOR
    out[dy0:dy1, dx0:dx1] = content
    return out


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an H×W×3 (or H×W) uint8 image as PNG, atomically (temp file + rename)."""
    p = Path(path)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected an H×W×3 uint8 image, got {image.shape} {image.dtype}")
    write_atomically(
        p, lambda temp: Image.fromarray(np.ascontiguousarray(image)).save(temp, format="PNG")
    )
