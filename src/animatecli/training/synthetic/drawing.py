"""OpenCV drawing helpers with sub-pixel, anti-aliased geometry and alpha compositing."""

from __future__ import annotations

import cv2
import numpy as np

from .colors import Color

_SHIFT = 4  # fractional bits for OpenCV drawing: 1/16 px precision
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


def _fx(v: float) -> int:
    return round(v * _ONE)


def poly(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...]) -> None:
    """Fill a polygon given float ``(N, 2)`` pixel coordinates (sub-pixel, anti-aliased)."""
    cv2.fillPoly(img, [np.round(pts * _ONE).astype(np.int32)], color, _AA, _SHIFT)


def line(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...], thickness: int) -> None:
    """Open polyline through float ``(N, 2)`` points."""
    pts_i = np.round(pts * _ONE).astype(np.int32)
    cv2.polylines(img, [pts_i], False, color, max(1, thickness), _AA, _SHIFT)


def ellipse(
    img: np.ndarray,
    center: tuple[float, float],
    axes: tuple[float, float],
    color: tuple[int, ...],
    thickness: int = -1,
    angle: float = 0.0,
) -> None:
    cv2.ellipse(
        img,
        (_fx(center[0]), _fx(center[1])),
        (max(0, _fx(axes[0])), max(0, _fx(axes[1]))),
        angle,
        0,
        360,
        color,
        thickness,
        _AA,
        _SHIFT,
    )


def ellipse_pts(
    cx: float, cy: float, rx: float, ry: float, t0: float = 0.0, t1: float = 360.0, n: int = 48
) -> np.ndarray:
    """Points on an ellipse arc, angles in degrees (image coordinates: 270 is the top)."""
    t = np.radians(np.linspace(t0, t1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def over(dst: np.ndarray, src: np.ndarray) -> None:
    """Premultiplied RGBA ``src`` over ``dst`` (both uint8 with 4 channels), in place."""
    inv = 255 - src[..., 3]
    dst[...] = cv2.add(src, cv2.multiply(dst, cv2.merge([inv, inv, inv, inv]), scale=1 / 255))


def noise(rng: np.random.Generator, h: int, w: int, gh: int, gw: int) -> np.ndarray:
    """Smooth zero-mean noise (about unit std) of shape ``(h, w)``: a ``gh x gw`` grid, bicubic."""
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def textured_patch(
    h: int, w: int, polys: list[np.ndarray], color: Color, mod: np.ndarray
) -> np.ndarray:
    """Premultiplied RGBA patch: ``color * mod`` inside the (patch-coordinate) polygons.

    ``mod`` is a multiplicative texture, ``(h, w)`` or per channel ``(h, w, 3)``.
    """
    mask = np.zeros((h, w), np.uint8)
    for p in polys:
        poly(mask, p, (255,))
    if mod.ndim == 2:
        mod = cv2.merge([mod, mod, mod])
    rgb = cv2.convertScaleAbs(cv2.multiply(mod.astype(np.float32), (*map(float, color), 0.0)))
    rgb = cv2.multiply(rgb, cv2.merge([mask, mask, mask]), scale=1 / 255)
    return cv2.merge([*cv2.split(rgb), mask])


def paint(layer: np.ndarray, polys: list[np.ndarray], color: Color, mod_fn) -> None:
    """Composite textured polygons (canonical pixel coordinates) onto an RGBA layer."""
    allp = np.concatenate(polys)
    size = layer.shape[0]
    x0, y0 = np.floor(allp.min(0)).astype(int) - 2
    x1, y1 = np.ceil(allp.max(0)).astype(int) + 3
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, size), min(y1, size)
    if x1 <= x0 or y1 <= y0:
        return
    h, w = y1 - y0, x1 - x0
    off = np.array([x0, y0], float)
    patch = textured_patch(h, w, [p - off for p in polys], color, mod_fn(h, w))
    over(layer[y0:y1, x0:x1], patch)
