"""What is drawn once per identity and size: textured layers, hair shapes, background."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import colors, drawing
from .colors import Color
from .style import HAIR_STYLES, HeadStyle


@dataclass(frozen=True, eq=False)
class Assets:
    """Pre-rendered, pose-independent parts of one identity at one frame size."""

    size: int
    cx: float
    cy: float
    a: float
    b: float
    pivot: tuple[float, float]
    base: np.ndarray  # canonical head layer, premultiplied RGBA
    front: np.ndarray  # premultiplied RGBA patch with the hair in front of the face
    front_xy: tuple[int, int]
    head_box: tuple[int, int, int, int]  # canonical bounding box x0, y0, x1, y1
    background: np.ndarray  # RGB, frame plus margin on every side
    margin: int
    skin: Color
    lid: Color
    brow: Color
    lash: Color
    jaw: float

    def face_half_width(self, y: float) -> float:
        """Half width of the (canonical) face outline at height ``y``."""
        v = colors.clamp((y - self.cy) / self.b, -0.999, 0.999)
        return self.a * math.sqrt(1 - v * v) * (1.0 - (1.0 - self.jaw) * max(v, 0.0) ** 1.6)


def _face_polygon(cx: float, cy: float, a: float, b: float, jaw: float) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
    x, y = np.cos(t), np.sin(t)
    lower = np.clip(y, 0, None)
    x = x * (1.0 - (1.0 - jaw) * lower**1.6)
    y = y * (1.0 - 0.06 * lower**4)  # slightly flattened chin
    return np.stack([cx + a * x, cy + b * y], axis=1)


def _hair_shapes(
    style: HeadStyle, cx: float, cy: float, a: float, b: float, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Polygons of the hair behind the face and in front of it (canonical pixels)."""
    v = style.hair_volume
    flip = -1.0 if style.hair_flip else 1.0
    back: list[np.ndarray] = []
    u = np.linspace(1.0, -1.0, 41)  # hairline, right to left
    top = drawing.ellipse_pts(
        cx, cy, 1.05 * a, 1.05 * b, 172, 368, 40
    )  # left temple -> right temple
    kind = HAIR_STYLES[style.hair_style]
    if kind == "short":
        back.append(drawing.ellipse_pts(cx, cy - 0.1 * b, 1.1 * a * v, 1.02 * b * v, 150, 390, 48))
        k = rng.uniform(3.0, 6.0)
        hl = cy - b * (0.5 + 0.12 * (1 - u**2) - 0.07 * np.abs(np.sin(k * math.pi * u)))
    elif kind == "side_part":
        back.append(drawing.ellipse_pts(cx, cy - 0.1 * b, 1.15 * a * v, 1.06 * b * v, 145, 395, 48))
        s = (flip * u + 1.0) / 2.0
        hl = cy - b * (0.33 + 0.4 * s**1.5 + 0.04 * np.sin(3 * u))
    elif kind == "bun":
        back.append(drawing.ellipse_pts(cx, cy - 0.08 * b, 1.06 * a, 1.02 * b, 150, 390, 48))
        back.append(drawing.ellipse_pts(cx, cy - 1.05 * b, 0.34 * a * v, 0.3 * a * v))
        hl = cy - b * (0.5 + 0.15 * (1 - u**2))
    elif kind == "long":
        r = 1.22 * a * v
        arc = drawing.ellipse_pts(cx, cy - 0.08 * b, r, 1.08 * b * v, 180, 360, 32)
        bottom = cy + 1.2 * b
        notch = 0.5 * a  # the neck shows between the locks hanging behind the head
        side_r = np.array([[cx + r, cy + 0.5 * b], [cx + 0.95 * r, bottom]])
        lock_r = drawing.ellipse_pts(
            0.5 * (cx + 0.95 * r + cx + notch), bottom, 0.5 * (0.95 * r - notch), 0.1 * b, 0, 180, 8
        )
        lock_l = lock_r.copy()
        lock_l[:, 0] = 2 * cx - lock_l[:, 0]
        mid = np.array([[cx + 0.9 * notch, cy + 0.75 * b], [cx - 0.9 * notch, cy + 0.75 * b]])
        side_l = np.array([[cx - 0.95 * r, bottom], [cx - r, cy + 0.5 * b]])
        back.append(np.concatenate([arc, side_r, lock_r, mid, lock_l[::-1], side_l]))
        part = 0.15 * flip * a
        xu = cx + 0.98 * a * u
        hl = cy - b * (0.8 - 0.75 * (np.abs(xu - cx - part) / a) ** 1.2)
    else:  # curly
        for t in np.linspace(150, 390, 13):
            rr = math.radians(t)
            ccx, ccy = cx + 1.0 * a * v * math.cos(rr), cy - 0.12 * b + 0.98 * b * v * math.sin(rr)
            back.append(drawing.ellipse_pts(ccx, ccy, 0.3 * a, 0.3 * a, n=20))
        back.append(drawing.ellipse_pts(cx, cy - 0.12 * b, 1.0 * a * v, 0.98 * b * v, n=40))
        hl = cy - b * (0.45 + 0.1 * (1 - u**2) - 0.09 * np.abs(np.sin(4.5 * math.pi * u)))
    hairline = np.stack([cx + 0.98 * a * u, hl], axis=1)
    front = [np.concatenate([top, hairline])]
    return back, front


def _background(style: HeadStyle, n: int, rng: np.random.Generator) -> np.ndarray:
    """Static textured background of size ``n x n`` (RGB uint8).

    The pattern is low/mid frequency, so it is computed on a quarter-resolution grid and
    upsampled, which keeps building a new identity cheap.
    """
    lo = max(16, n // 4)
    yy, xx = np.mgrid[0:lo, 0:lo].astype(np.float32) / lo
    ca, sa = math.cos(style.bg_angle), math.sin(style.bg_angle)
    f = style.bg_freq
    p = style.bg_pattern
    if p == 0:  # soft stripes
        w = 0.5 + 0.5 * np.sin(2 * math.pi * f * (xx * ca + yy * sa))
    elif p == 1:  # blurred blobs
        w = 0.5 + 0.3 * drawing.noise(rng, lo, lo, 5, 5)
    elif p == 2:  # wallpaper dots
        w = 0.5 + 0.5 * np.sin(2 * math.pi * f * xx) * np.sin(2 * math.pi * f * yy)
    else:  # "room": wall, a lighter window/door block and a floor band
        w = np.full((lo, lo), 0.15, np.float32)
        x0, y0 = rng.uniform(0.0, 0.6), rng.uniform(0.05, 0.3)
        win = (xx > x0) & (xx < x0 + rng.uniform(0.2, 0.4)) & (yy > y0) & (yy < y0 + 0.4)
        w[win] = 0.85
        w[yy > rng.uniform(0.7, 0.85)] = 0.55
    w = w + 0.25 * (yy - 0.5) * math.cos(style.bg_angle * 3)  # gentle gradient
    w = w + 0.08 * drawing.noise(rng, lo, lo, 24, 24)  # mid-frequency texture
    w = np.clip(w, 0.0, 1.0)[..., None]
    ca_ = np.asarray(style.bg_color_a, np.float32)
    cb_ = np.asarray(style.bg_color_b, np.float32)
    small = np.clip(ca_ * (1 - w) + cb_ * w, 0, 255).astype(np.uint8)
    return cv2.resize(small, (n, n), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=32)
def style_assets(style: HeadStyle, size: int) -> Assets:
    """Build (and cache) the pose-independent layers of one identity."""
    rng = np.random.default_rng(style.texture_seed)
    s = float(size)
    cx, cy = 0.5 * s, 0.46 * s
    a, b = style.face_w * s, style.face_h * s
    px = s / 256.0
    pivot = (cx, cy + 0.85 * b)
    base = np.zeros((size, size, 4), np.uint8)
    hair = style.hair_color
    back, front = _hair_shapes(style, cx, cy, a, b, rng)
    curly = HAIR_STYLES[style.hair_style] == "curly"

    def hair_mod(k: float):
        def fn(h: int, w: int) -> np.ndarray:
            if curly:
                m = 1.0 + 0.2 * drawing.noise(
                    rng, h, w, max(2, h // int(5 * px + 1)), max(2, w // 5)
                )
            else:  # strands: noise stretched along y
                m = 1.0 + 0.16 * drawing.noise(rng, h, w, 3, max(2, int(w / (3.5 * px))))
            return (k * m).astype(np.float32)

        return fn

    drawing.paint(base, back, hair, hair_mod(0.78))

    # ears (behind the face edge)
    if HAIR_STYLES[style.hair_style] != "long":
        ear_c = colors.shade(style.skin, 0.93)
        for side in (-1.0, 1.0):
            ex, ey = cx + side * 0.97 * a, cy + 0.08 * b
            ea, eb = 0.15 * a * style.ear_size, 0.22 * b * style.ear_size
            drawing.ellipse(base, (ex, ey), (ea, eb), colors.rgba(ear_c))
            drawing.ellipse(
                base,
                (ex + side * 0.2 * ea, ey),
                (0.5 * ea, 0.6 * eb),
                colors.rgba(colors.shade(ear_c, 0.82)),
            )

    # face with skin texture, soft shading, blush
    face = _face_polygon(cx, cy, a, b, style.jaw)

    def skin_mod(h: int, w: int) -> np.ndarray:
        lh, lw = max(4, h // 4), max(4, w // 4)
        yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
        nx = (xx + 0.5 - lw / 2) / (lw / 2)
        ny = (yy + 0.5 - lh / 2) / (lh / 2)
        m = 1.0 - 0.12 * (nx**2 + ny**2) ** 1.5 - 0.05 * nx  # light from the upper left
        m = np.repeat(m[..., None], 3, axis=2)
        if style.blush > 0.2:  # soft reddish cheeks
            g = sum(
                np.exp(-((nx - sd * 0.5) ** 2 / 0.03 + (ny - 0.3) ** 2 / 0.012)) for sd in (-1, 1)
            )
            m += style.blush * g[..., None] * np.array([0.03, -0.1, -0.07], np.float32)
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
        m += (0.05 * drawing.noise(rng, h, w, 6, 6) + 0.025 * drawing.noise(rng, h, w, 20, 20))[
            ..., None
        ]
        return m

    drawing.paint(base, [face], style.skin, skin_mod)
    fr = colors.shade(style.skin, 0.78)
    for _ in range(style.freckles):
        side = 1.0 if rng.random() < 0.5 else -1.0
        fx = cx + side * rng.uniform(0.1, 0.65) * a
        fy = cy + rng.uniform(0.05, 0.4) * b
        r = rng.uniform(0.5, 1.3) * px
        drawing.ellipse(base, (fx, fy), (r, r), colors.rgba(fr))

    # hair in front of the face: its own patch, composited after the facial features
    x0, y0 = np.floor(np.concatenate(front).min(0)).astype(int) - 2
    x1, y1 = np.ceil(np.concatenate(front).max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
    fpatch = drawing.textured_patch(
        y1 - y0,
        x1 - x0,
        [p - np.array([x0, y0], float) for p in front],
        hair,
        hair_mod(1.0)(y1 - y0, x1 - x0),
    )

    alpha = base[..., 3]
    rows = np.flatnonzero(alpha.any(1))
    cols = np.flatnonzero(alpha.any(0))
    head_box = (
        min(int(cols[0]), x0),
        min(int(rows[0]), y0),
        max(int(cols[-1]) + 1, x1),
        max(int(rows[-1]) + 1, y1),
    )

    margin = math.ceil(0.02 * s) + 2
    background = _background(style, size + 2 * margin, rng)
    brow = colors.shade(hair, 0.75) if sum(hair) < 600 else colors.mix(hair, (90, 80, 70), 0.4)
    return Assets(
        size=size,
        cx=cx,
        cy=cy,
        a=a,
        b=b,
        pivot=pivot,
        base=base,
        front=fpatch,
        front_xy=(int(x0), int(y0)),
        head_box=head_box,
        background=background,
        margin=margin,
        skin=style.skin,
        lid=colors.shade(style.skin, 0.9),
        brow=brow,
        lash=colors.shade(hair, 0.35) if sum(hair) < 300 else (40, 30, 30),
        jaw=style.jaw,
    )
