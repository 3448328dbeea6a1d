"""Procedural talking-head videos: the training and evaluation domain of our own model.

Everything here is pure numpy + OpenCV and deterministic from an integer seed:

* a seed fixes one *identity* (:class:`HeadStyle`, drawn from ``default_rng([seed, 0])``),
  one *motion* (:class:`MotionParams`, from ``default_rng([seed, 1])``) and one *voice*
  (:func:`make_speech_audio`, from ``default_rng([seed, 2])``);
* motion is a closed-form function of time (:func:`pose_at`), so any two instants of a
  video can be rendered without rendering the frames in between, and a longer video of a
  seed starts with exactly the frames of a shorter one;
* :func:`render_frame` draws a stylised, textured cartoon head with anti-aliased,
  sub-pixel geometry. The head is drawn once per frame in a canonical (neutral pose)
  layer with premultiplied alpha and warped into the frame with a single affine warp,
  which keeps head motion smooth, cheap, and consistent with the skin texture.

Splits: seeds in :data:`TRAIN_SEEDS` (``0 .. 9_999_999``) are for training only;
:data:`HELDOUT_SEEDS` (``10_000_000 .. 19_999_999``) are for evaluation and examples
(:func:`heldout_videos` walks them in order from ``10_000_000``). The two ranges are
disjoint, and :func:`sample_training_pair` draws only from the training range.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "DEFAULT_FPS",
    "HAIR_STYLES",
    "HELDOUT_SEEDS",
    "PAIR_MOTION_SECONDS",
    "TRAIN_SEEDS",
    "HeadPose",
    "HeadStyle",
    "MotionParams",
    "SyntheticVideo",
    "heldout_videos",
    "make_speech_audio",
    "make_video",
    "motion_for_seed",
    "pose_at",
    "poses_at",
    "render_frame",
    "sample_motion",
    "sample_motion_params",
    "sample_training_pair",
    "style_for_seed",
    "video_poses",
]

TRAIN_SEEDS = range(0, 10_000_000)
"""Seeds whose identities and motions may be used for training."""

HELDOUT_SEEDS = range(10_000_000, 20_000_000)
"""Seeds reserved for evaluation and examples; disjoint from :data:`TRAIN_SEEDS`."""

DEFAULT_FPS = 25.0
PAIR_MOTION_SECONDS = 20.0
"""Length of the motion from which :func:`sample_training_pair` picks its two instants."""

HAIR_STYLES = ("short", "side_part", "bun", "long", "curly")

_STYLE_STREAM, _MOTION_STREAM, _AUDIO_STREAM = 0, 1, 2

_SHIFT = 4  # fractional bits for OpenCV drawing: 1/16 px precision
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA
_MAX_YAW_DEG = 24.0  # fake-3D turn of the face at |yaw| = 1

Color = tuple[int, int, int]

_SKIN_TONES: tuple[Color, ...] = (
    (255, 224, 196),
    (246, 205, 170),
    (234, 186, 146),
    (214, 160, 115),
    (186, 128, 86),
    (150, 98, 62),
    (112, 72, 46),
    (88, 56, 38),
)
_SKIN_FANTASY: tuple[Color, ...] = ((150, 200, 235), (160, 215, 150), (230, 170, 210))
_HAIR_COLORS: tuple[Color, ...] = (
    (22, 18, 20),
    (52, 34, 24),
    (96, 62, 36),
    (150, 100, 55),
    (214, 176, 108),
    (172, 70, 32),
    (150, 148, 150),
    (232, 230, 222),
    (40, 64, 150),
    (196, 74, 140),
)
_EYE_COLORS: tuple[Color, ...] = (
    (92, 56, 30),
    (58, 38, 22),
    (64, 118, 182),
    (76, 128, 86),
    (104, 108, 120),
    (140, 102, 48),
)
_LIPSTICK: tuple[Color, ...] = ((196, 40, 62), (150, 40, 90), (220, 90, 100))


def _rng(seed: int, stream: int) -> np.random.Generator:
    """Independent generator for one part (style / motion / audio) of a seed."""
    return np.random.default_rng([int(seed), stream])


def _clip_color(c: Sequence[float]) -> Color:
    r, g, b = (min(255, max(0, round(float(v)))) for v in c)
    return (r, g, b)


def _shade(c: Sequence[float], k: float) -> Color:
    """Multiply a colour by ``k`` (clipped)."""
    return _clip_color([v * k for v in c])


def _mix(c1: Sequence[float], c2: Sequence[float], w: float) -> Color:
    """``(1 - w) * c1 + w * c2``."""
    return _clip_color([(1.0 - w) * a + w * b for a, b in zip(c1, c2, strict=True)])


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else float(v)


def _rgba(c: Color) -> tuple[int, int, int, int]:
    return (c[0], c[1], c[2], 255)


def _jitter(rng: np.random.Generator, c: Color, amount: float) -> Color:
    return _clip_color(np.asarray(c, float) + rng.uniform(-amount, amount, 3))


# --------------------------------------------------------------------------- appearance


@dataclass(frozen=True)
class HeadStyle:
    """All per-identity appearance parameters (hashable; lengths are fractions of the frame).

    ``face_w`` / ``face_h`` are the half axes of the face ellipse relative to the frame
    size, ``jaw`` narrows the lower half of the face (1 = pure ellipse), colours are RGB.
    """

    texture_seed: int
    face_w: float
    face_h: float
    jaw: float
    skin: Color
    hair_color: Color
    hair_style: int
    hair_flip: bool
    hair_volume: float
    eye_color: Color
    eye_size: float
    eye_spacing: float
    eye_height: float
    brow_thickness: float
    brow_arch: float
    nose_size: float
    mouth_width: float
    lip_color: Color
    smile: float
    freckles: int
    blush: float
    ear_size: float
    shirt_color: Color
    shirt_trim: Color
    shirt_stripes: bool
    shoulder_width: float
    bg_color_a: Color
    bg_color_b: Color
    bg_pattern: int
    bg_freq: float
    bg_angle: float

    @classmethod
    def sample(cls, rng: np.random.Generator) -> HeadStyle:
        """Draw a random identity."""
        if rng.random() < 0.08:
            skin = _jitter(rng, _SKIN_FANTASY[rng.integers(len(_SKIN_FANTASY))], 15)
        else:
            skin = _jitter(rng, _SKIN_TONES[rng.integers(len(_SKIN_TONES))], 12)
        hair = _jitter(rng, _HAIR_COLORS[rng.integers(len(_HAIR_COLORS))], 14)
        if rng.random() < 0.3:
            lips = _jitter(rng, _LIPSTICK[rng.integers(len(_LIPSTICK))], 15)
        else:
            lips = _mix(
                _clip_color((skin[0] * 0.85 + 20, skin[1] * 0.55, skin[2] * 0.58)), skin, 0.1
            )
        bg_a = _clip_color(rng.uniform(25, 235, 3))
        # second background colour: related hue, different brightness -> visible pattern
        bg_b = _clip_color(
            np.asarray(bg_a, float) * rng.uniform(0.55, 0.85) + rng.uniform(-40, 40, 3)
        )
        if rng.random() < 0.5:
            bg_b = _clip_color(255 - np.asarray(bg_b, float) * 0.4)
        shirt = _clip_color(rng.uniform(20, 235, 3))
        return cls(
            texture_seed=int(rng.integers(0, 2**31 - 1)),
            face_w=float(rng.uniform(0.19, 0.225)),
            face_h=float(rng.uniform(0.245, 0.275)),
            jaw=float(rng.uniform(0.55, 0.9)),
            skin=skin,
            hair_color=hair,
            hair_style=int(rng.integers(len(HAIR_STYLES))),
            hair_flip=bool(rng.random() < 0.5),
            hair_volume=float(rng.uniform(0.95, 1.15)),
            eye_color=_jitter(rng, _EYE_COLORS[rng.integers(len(_EYE_COLORS))], 12),
            eye_size=float(rng.uniform(0.85, 1.12)),
            eye_spacing=float(rng.uniform(0.36, 0.43)),
            eye_height=float(rng.uniform(-0.06, 0.04)),
            brow_thickness=float(rng.uniform(0.6, 1.5)),
            brow_arch=float(rng.uniform(0.0, 1.0)),
            nose_size=float(rng.uniform(0.8, 1.25)),
            mouth_width=float(rng.uniform(0.85, 1.2)),
            lip_color=lips,
            smile=float(rng.uniform(-0.2, 0.6)),
            freckles=int(rng.integers(0, 40)) if rng.random() < 0.6 else 0,
            blush=float(rng.uniform(0.0, 1.0)),
            ear_size=float(rng.uniform(0.85, 1.2)),
            shirt_color=shirt,
            shirt_trim=_shade(shirt, float(rng.uniform(0.45, 0.7))),
            shirt_stripes=bool(rng.random() < 0.4),
            shoulder_width=float(rng.uniform(0.33, 0.44)),
            bg_color_a=bg_a,
            bg_color_b=bg_b,
            bg_pattern=int(rng.integers(4)),
            bg_freq=float(rng.uniform(2.0, 7.0)),
            bg_angle=float(rng.uniform(0.0, math.pi)),
        )


@dataclass(frozen=True)
class HeadPose:
    """Per-frame state of the head.

    Attributes:
        tx, ty: head translation as a fraction of the frame size.
        rotation: in-plane rotation in degrees (counter-clockwise), about the neck pivot.
        scale: head scale about the neck pivot (about 0.85..1.15).
        yaw: fake 3D turn in ``[-1, 1]``; positive turns the face towards the image right
            (features slide right, the right-hand eye gets foreshortened).
        eye_open: eye openness, 0 closed .. 1 open.
        mouth_open: mouth openness, 0 closed .. 1 wide open.
        mouth_width: relative mouth width (about 0.8..1.2).
        brow_raise: eyebrow raise, about -1 (frown) .. 1 (raised).
        gaze_x, gaze_y: iris offset in ``[-1, 1]``.
        jitter_x, jitter_y: camera shift (whole picture) as a fraction of the frame size.
    """

    tx: float = 0.0
    ty: float = 0.0
    rotation: float = 0.0
    scale: float = 1.0
    yaw: float = 0.0
    eye_open: float = 1.0
    mouth_open: float = 0.0
    mouth_width: float = 1.0
    brow_raise: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    jitter_x: float = 0.0
    jitter_y: float = 0.0


# --------------------------------------------------------------------------- drawing helpers


def _fx(v: float) -> int:
    return round(v * _ONE)


def _poly(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...]) -> None:
    """Fill a polygon given float ``(N, 2)`` pixel coordinates (sub-pixel, anti-aliased)."""
    cv2.fillPoly(img, [np.round(pts * _ONE).astype(np.int32)], color, _AA, _SHIFT)


def _line(img: np.ndarray, pts: np.ndarray, color: tuple[int, ...], thickness: int) -> None:
    """Open polyline through float ``(N, 2)`` points."""
    pts_i = np.round(pts * _ONE).astype(np.int32)
    cv2.polylines(img, [pts_i], False, color, max(1, thickness), _AA, _SHIFT)


def _ellipse(
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


def _ellipse_pts(
    cx: float, cy: float, rx: float, ry: float, t0: float = 0.0, t1: float = 360.0, n: int = 48
) -> np.ndarray:
    """Points on an ellipse arc, angles in degrees (image coordinates: 270 is the top)."""
    t = np.radians(np.linspace(t0, t1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _over(dst: np.ndarray, src: np.ndarray) -> None:
    """Premultiplied RGBA ``src`` over ``dst`` (both uint8 with 4 channels), in place."""
    inv = 255 - src[..., 3]
    dst[...] = cv2.add(src, cv2.multiply(dst, cv2.merge([inv, inv, inv, inv]), scale=1 / 255))


def _noise(rng: np.random.Generator, h: int, w: int, gh: int, gw: int) -> np.ndarray:
    """Smooth zero-mean noise (about unit std) of shape ``(h, w)``: a ``gh x gw`` grid, bicubic."""
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def _textured_patch(
    h: int, w: int, polys: list[np.ndarray], color: Color, mod: np.ndarray
) -> np.ndarray:
    """Premultiplied RGBA patch: ``color * mod`` inside the (patch-coordinate) polygons.

    ``mod`` is a multiplicative texture, ``(h, w)`` or per channel ``(h, w, 3)``.
    """
    mask = np.zeros((h, w), np.uint8)
    for p in polys:
        _poly(mask, p, (255,))
    if mod.ndim == 2:
        mod = cv2.merge([mod, mod, mod])
    rgb = cv2.convertScaleAbs(cv2.multiply(mod.astype(np.float32), (*map(float, color), 0.0)))
    rgb = cv2.multiply(rgb, cv2.merge([mask, mask, mask]), scale=1 / 255)
    return cv2.merge([*cv2.split(rgb), mask])


def _paint(layer: np.ndarray, polys: list[np.ndarray], color: Color, mod_fn) -> None:
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
    patch = _textured_patch(h, w, [p - off for p in polys], color, mod_fn(h, w))
    _over(layer[y0:y1, x0:x1], patch)


# --------------------------------------------------------------------------- per-style assets


@dataclass(frozen=True, eq=False)
class _Assets:
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
        v = _clamp((y - self.cy) / self.b, -0.999, 0.999)
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
    top = _ellipse_pts(cx, cy, 1.05 * a, 1.05 * b, 172, 368, 40)  # left temple -> right temple
    kind = HAIR_STYLES[style.hair_style]
    if kind == "short":
        back.append(_ellipse_pts(cx, cy - 0.1 * b, 1.1 * a * v, 1.02 * b * v, 150, 390, 48))
        k = rng.uniform(3.0, 6.0)
        hl = cy - b * (0.5 + 0.12 * (1 - u**2) - 0.07 * np.abs(np.sin(k * math.pi * u)))
    elif kind == "side_part":
        back.append(_ellipse_pts(cx, cy - 0.1 * b, 1.15 * a * v, 1.06 * b * v, 145, 395, 48))
        s = (flip * u + 1.0) / 2.0
        hl = cy - b * (0.33 + 0.4 * s**1.5 + 0.04 * np.sin(3 * u))
    elif kind == "bun":
        back.append(_ellipse_pts(cx, cy - 0.08 * b, 1.06 * a, 1.02 * b, 150, 390, 48))
        back.append(_ellipse_pts(cx, cy - 1.05 * b, 0.34 * a * v, 0.3 * a * v))
        hl = cy - b * (0.5 + 0.15 * (1 - u**2))
    elif kind == "long":
        r = 1.22 * a * v
        arc = _ellipse_pts(cx, cy - 0.08 * b, r, 1.08 * b * v, 180, 360, 32)
        bottom = cy + 1.2 * b
        notch = 0.5 * a  # the neck shows between the locks hanging behind the head
        side_r = np.array([[cx + r, cy + 0.5 * b], [cx + 0.95 * r, bottom]])
        lock_r = _ellipse_pts(
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
            back.append(_ellipse_pts(ccx, ccy, 0.3 * a, 0.3 * a, n=20))
        back.append(_ellipse_pts(cx, cy - 0.12 * b, 1.0 * a * v, 0.98 * b * v, n=40))
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
        w = 0.5 + 0.3 * _noise(rng, lo, lo, 5, 5)
    elif p == 2:  # wallpaper dots
        w = 0.5 + 0.5 * np.sin(2 * math.pi * f * xx) * np.sin(2 * math.pi * f * yy)
    else:  # "room": wall, a lighter window/door block and a floor band
        w = np.full((lo, lo), 0.15, np.float32)
        x0, y0 = rng.uniform(0.0, 0.6), rng.uniform(0.05, 0.3)
        win = (xx > x0) & (xx < x0 + rng.uniform(0.2, 0.4)) & (yy > y0) & (yy < y0 + 0.4)
        w[win] = 0.85
        w[yy > rng.uniform(0.7, 0.85)] = 0.55
    w = w + 0.25 * (yy - 0.5) * math.cos(style.bg_angle * 3)  # gentle gradient
    w = w + 0.08 * _noise(rng, lo, lo, 24, 24)  # mid-frequency texture
    w = np.clip(w, 0.0, 1.0)[..., None]
    ca_ = np.asarray(style.bg_color_a, np.float32)
    cb_ = np.asarray(style.bg_color_b, np.float32)
    small = np.clip(ca_ * (1 - w) + cb_ * w, 0, 255).astype(np.uint8)
    return cv2.resize(small, (n, n), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=32)
def _assets(style: HeadStyle, size: int) -> _Assets:
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
                m = 1.0 + 0.2 * _noise(rng, h, w, max(2, h // int(5 * px + 1)), max(2, w // 5))
            else:  # strands: noise stretched along y
                m = 1.0 + 0.16 * _noise(rng, h, w, 3, max(2, int(w / (3.5 * px))))
            return (k * m).astype(np.float32)

        return fn

    _paint(base, back, hair, hair_mod(0.78))

    # ears (behind the face edge)
    if HAIR_STYLES[style.hair_style] != "long":
        ear_c = _shade(style.skin, 0.93)
        for side in (-1.0, 1.0):
            ex, ey = cx + side * 0.97 * a, cy + 0.08 * b
            ea, eb = 0.15 * a * style.ear_size, 0.22 * b * style.ear_size
            _ellipse(base, (ex, ey), (ea, eb), _rgba(ear_c))
            _ellipse(
                base, (ex + side * 0.2 * ea, ey), (0.5 * ea, 0.6 * eb), _rgba(_shade(ear_c, 0.82))
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
        m += (0.05 * _noise(rng, h, w, 6, 6) + 0.025 * _noise(rng, h, w, 20, 20))[..., None]
        return m

    _paint(base, [face], style.skin, skin_mod)
    fr = _shade(style.skin, 0.78)
    for _ in range(style.freckles):
        side = 1.0 if rng.random() < 0.5 else -1.0
        fx = cx + side * rng.uniform(0.1, 0.65) * a
        fy = cy + rng.uniform(0.05, 0.4) * b
        r = rng.uniform(0.5, 1.3) * px
        _ellipse(base, (fx, fy), (r, r), _rgba(fr))

    # hair in front of the face: its own patch, composited after the facial features
    x0, y0 = np.floor(np.concatenate(front).min(0)).astype(int) - 2
    x1, y1 = np.ceil(np.concatenate(front).max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
    fpatch = _textured_patch(
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
    brow = _shade(hair, 0.75) if sum(hair) < 600 else _mix(hair, (90, 80, 70), 0.4)
    return _Assets(
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
        lid=_shade(style.skin, 0.9),
        brow=brow,
        lash=_shade(hair, 0.35) if sum(hair) < 300 else (40, 30, 30),
        jaw=style.jaw,
    )


# --------------------------------------------------------------------------- per-frame drawing


def _draw_eye(
    layer: np.ndarray,
    ex: float,
    ey: float,
    w: float,
    h: float,
    fore: float,
    pose: HeadPose,
    style: HeadStyle,
    at: _Assets,
) -> None:
    """Sclera, iris, pupil, highlight, then eyelids according to ``pose.eye_open``."""
    px = at.size / 256.0
    _ellipse(layer, (ex, ey), (w, h), (246, 244, 238, 255))
    r = 0.92 * h
    ix = ex + pose.gaze_x * 0.25 * w
    iy = ey + pose.gaze_y * 0.15 * h
    eye = style.eye_color
    _ellipse(layer, (ix, iy), (r * fore, r), _rgba(eye))
    _ellipse(layer, (ix, iy), (r * fore, r), _rgba(_shade(eye, 0.55)), max(1, round(px)))
    _ellipse(layer, (ix, iy), (0.45 * r * fore, 0.45 * r), (15, 12, 12, 255))
    hr = 0.2 * r
    _ellipse(layer, (ix - 0.3 * r * fore, iy - 0.35 * r), (hr, hr), (255, 255, 255, 255))

    o = _clamp(pose.eye_open, 0.0, 1.0)
    xs = np.linspace(-1.0, 1.0, 13)
    sq = np.sqrt(1.0 - xs**2)
    top, bot = ey - h * sq, ey + h * sq
    yc = ey + 0.3 * h * sq
    yu = yc + (top - yc) * o
    yl = yc + (bot - yc) * min(1.0, 1.6 * o)
    m = 0.45 * h + 1.0 * px
    xx = ex + w * xs
    lid = _rgba(at.lid)
    _poly(
        layer, np.concatenate([np.stack([xx, top - m * sq], 1), np.stack([xx, yu], 1)[::-1]]), lid
    )
    _poly(
        layer, np.concatenate([np.stack([xx, yl], 1), np.stack([xx, bot + m * sq], 1)[::-1]]), lid
    )
    lash = np.stack([xx, yu], 1)
    _line(layer, lash, _rgba(at.lash), round(1.6 * px))
    _line(layer, np.stack([xx, yl], 1)[2:-2], _rgba(_shade(at.skin, 0.72)), round(0.8 * px))


def _draw_features(layer: np.ndarray, style: HeadStyle, pose: HeadPose, at: _Assets) -> None:
    """Eyes, eyebrows, nose and mouth with the fake-3D yaw applied."""
    cx, cy, a, b = at.cx, at.cy, at.a, at.b
    px = at.size / 256.0
    radius = 1.02 * a
    psi = _clamp(pose.yaw, -1.0, 1.0) * math.radians(_MAX_YAW_DEG)

    def proj(x0: np.ndarray | float, r: float = radius) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal offset on a cylinder of radius ``r`` turned by ``psi``; foreshortening."""
        phi = np.arcsin(np.clip(np.asarray(x0, float) / r, -0.98, 0.98))
        return r * np.sin(phi + psi), np.cos(phi + psi) / np.cos(phi)

    # eyes
    eye_y = cy - 0.08 * b + style.eye_height * b
    eye_dx = style.eye_spacing * a
    ew, eh = 0.27 * a * style.eye_size, 0.165 * a * style.eye_size
    for side in (-1.0, 1.0):  # project both corners: foreshortening + stays on the face
        xo, _ = proj(np.array([side * eye_dx - ew, side * eye_dx + ew]))
        fore = _clamp(float(xo[1] - xo[0]) / (2 * ew), 0.4, 1.2)
        _draw_eye(
            layer, cx + 0.5 * float(xo[0] + xo[1]), eye_y, ew * fore, eh, fore, pose, style, at
        )

    # eyebrows: tapered, thicker at the inner end
    v = np.linspace(-1.0, 1.0, 11)
    thick = style.brow_thickness * 0.045 * b
    brow_y = eye_y - 1.9 * eh - pose.brow_raise * 0.07 * b
    for side in (-1.0, 1.0):
        x0 = side * eye_dx + v * 1.25 * ew
        xo, _ = proj(x0)
        inner = (1.0 - side * v) / 2.0  # 1 at the inner end
        y = brow_y - style.brow_arch * (1 - v**2) * 0.07 * b + (inner - 0.5) * 0.04 * b
        y = y - pose.brow_raise * (1 - inner) * 0.02 * b
        t = thick * (0.45 + 0.55 * inner) * (1 - 0.5 * v**8)
        xs = cx + xo
        _poly(
            layer,
            np.concatenate([np.stack([xs, y - t / 2], 1), np.stack([xs, y + t / 2], 1)[::-1]]),
            _rgba(at.brow),
        )

    # nose: side shadow, underside, nostrils, tip highlight
    ns = style.nose_size
    tip_x = cx + float(proj(0.0, 1.25 * radius)[0])
    tip_y = cy + 0.24 * b * (0.9 + 0.1 * ns)
    bridge_x = cx + float(proj(0.0, 1.08 * radius)[0])
    shadow = _rgba(_shade(at.skin, 0.8))
    sh = np.array(
        [
            [bridge_x + 0.06 * a, cy - 0.02 * b],
            [tip_x + 0.09 * a * ns, tip_y - 0.06 * b],
            [tip_x + 0.05 * a * ns, tip_y + 0.02 * b],
        ]
    )
    _line(layer, sh, shadow, round(1.8 * px))
    _ellipse(layer, (tip_x, tip_y + 0.035 * b), (0.13 * a * ns, 0.035 * b), shadow)
    nost = _rgba(_shade(at.skin, 0.5))
    for side in (-1.0, 1.0):
        nx = tip_x + side * 0.085 * a * ns * (1 - 0.3 * side * math.sin(psi))
        _ellipse(layer, (nx, tip_y + 0.03 * b), (0.045 * a * ns, 0.022 * b), nost)
    _ellipse(
        layer,
        (tip_x - 0.03 * a, tip_y - 0.03 * b),
        (0.05 * a, 0.035 * b),
        _rgba(_shade(at.skin, 1.08)),
    )

    # mouth
    my = cy + 0.55 * b
    r_mouth = 1.05 * at.face_half_width(my)
    mw = min(0.38 * a * style.mouth_width * pose.mouth_width, 0.75 * r_mouth)
    lt = 0.045 * b
    u = np.linspace(-1.0, 1.0, 17)
    xo, _ = proj(u * mw, r_mouth)
    xs = cx + xo
    sq = (1.0 - u**2) ** 0.6
    lift = style.smile * lt * 1.6 * u**2
    open_h = _clamp(pose.mouth_open, 0.0, 1.0) * 0.24 * b
    inner_up = my - 0.25 * open_h * sq - lift
    inner_lo = my + 0.75 * open_h * sq - lift
    t_up = lt * (0.75 + 0.45 * np.exp(-(((np.abs(u) - 0.3) / 0.22) ** 2)))
    outer_up = inner_up - t_up * sq
    outer_lo = inner_lo + 1.2 * lt * sq
    lips = style.lip_color
    _poly(
        layer,
        np.concatenate([np.stack([xs, outer_up], 1), np.stack([xs, outer_lo], 1)[::-1]]),
        _rgba(lips),
    )
    if open_h > 0.6 * px:
        _poly(
            layer,
            np.concatenate([np.stack([xs, inner_up], 1), np.stack([xs, inner_lo], 1)[::-1]]),
            (70, 18, 28, 255),
        )
        k = np.abs(u) < 0.75
        teeth_lo = np.minimum(inner_up + 0.07 * b * sq, inner_lo)
        teeth = np.concatenate(
            [np.stack([xs[k], inner_up[k]], 1), np.stack([xs[k], teeth_lo[k]], 1)[::-1]]
        )
        _poly(layer, teeth, (242, 240, 232, 255))
        tongue_y = inner_lo - 0.25 * open_h * sq
        k2 = np.abs(u) < 0.6
        tongue = np.concatenate(
            [
                np.stack([xs[k2], inner_lo[k2]], 1),
                np.stack([xs[k2], np.maximum(tongue_y[k2], teeth_lo[k2])], 1)[::-1],
            ]
        )
        _poly(layer, tongue, (200, 80, 90, 255))
    line = np.stack([xs, 0.5 * (inner_up + inner_lo)], 1)[1:-1]
    _line(layer, line, _rgba(_shade(lips, 0.5)), round(1.0 * px))
    hl = _rgba(_mix(lips, (255, 255, 255), 0.25))
    _ellipse(
        layer, (float(xs[8]) - 0.05 * mw, float(outer_lo[8]) - 0.55 * lt), (0.25 * mw, 0.3 * lt), hl
    )


# Framing like the talking-head datasets FOMM is trained on (face crops where the face fills
# most of the frame): the scene is drawn ZOOM times larger and a frame-size window centred on
# the head's rest position is kept. Head motion then moves many more pixels, so motion, not
# the static background, dominates what a model must explain.
ZOOM = 1.4
_HEAD_CENTER = (0.5, 0.46)


def render_frame(style: HeadStyle, pose: HeadPose, size: int = 256) -> np.ndarray:
    """Render one ``size x size`` RGB uint8 frame of ``style`` in ``pose``."""
    big = round(size * ZOOM)
    full = _render_scene(style, pose, big)
    x0 = round(_HEAD_CENTER[0] * big - size / 2)
    y0 = round(_HEAD_CENTER[1] * big - size / 2)
    return np.ascontiguousarray(full[y0 : y0 + size, x0 : x0 + size])


def _render_scene(style: HeadStyle, pose: HeadPose, size: int) -> np.ndarray:
    """The whole scene at ``size x size`` (before the framing crop)."""
    at = _assets(style, size)
    s = float(size)
    jx, jy = pose.jitter_x * s, pose.jitter_y * s

    # background (static up to camera jitter)
    m = at.margin
    mb = np.float32([[1, 0, jx - m], [0, 1, jy - m]])
    frame = cv2.warpAffine(
        at.background, mb, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )

    # head transform: canonical -> frame, about the neck pivot
    ang = float(pose.rotation)
    mh = cv2.getRotationMatrix2D(at.pivot, ang, float(pose.scale))
    mh[0, 2] += pose.tx * s + jx
    mh[1, 2] += pose.ty * s + jy

    # body: follows the head partially
    cx = at.cx + 0.5 * pose.tx * s + jx
    sy = at.cy + at.b + 0.06 * s + 0.3 * pose.ty * s + jy
    sw = style.shoulder_width * s
    nw = 0.42 * at.a
    neck_col = _shade(style.skin, 0.82)
    top = np.array([[at.cx - nw, at.pivot[1] - 0.3 * at.b], [at.cx + nw, at.pivot[1] - 0.3 * at.b]])
    top = top @ mh[:, :2].T + mh[:, 2]
    neck = np.array(
        [top[0], top[1], [cx + 1.1 * nw, sy + 0.04 * s], [cx - 1.1 * nw, sy + 0.04 * s]]
    )
    _poly(frame, neck, neck_col)
    shoulder = _ellipse_pts(cx - sw + 0.12 * s, sy + 0.1 * s, 0.12 * s, 0.1 * s, 180, 270, 10)
    right = shoulder.copy()
    right[:, 0] = 2 * cx - right[:, 0]
    body = np.concatenate(
        [[[cx - sw - 0.02 * s, s + 4]], shoulder, right[::-1], [[cx + sw + 0.02 * s, s + 4]]]
    )
    _poly(frame, body, style.shirt_color)
    fold = _shade(style.shirt_color, 0.82)
    if style.shirt_stripes:
        for k in range(1, 5):
            yk = sy + 0.05 * s + k * 0.045 * s
            _line(
                frame,
                np.array([[cx - 0.93 * sw, yk], [cx + 0.93 * sw, yk]]),
                fold,
                round(2 * s / 256),
            )
    for side in (-1.0, 1.0):
        _line(
            frame,
            np.array([[cx + side * 0.72 * sw, sy + 0.14 * s], [cx + side * 0.78 * sw, s + 2]]),
            fold,
            round(1.5 * s / 256),
        )
    collar = _ellipse_pts(cx, sy - 0.005 * s, 1.25 * nw, 0.07 * s, 0, 180, 16)
    _poly(frame, collar, neck_col)
    _line(frame, collar, style.shirt_trim, round(2.5 * s / 256))

    # head: canonical layer + features + front hair, warped into the frame
    layer = at.base.copy()
    _draw_features(layer, style, pose, at)
    fx, fy = at.front_xy
    fh, fw = at.front.shape[:2]
    _over(layer[fy : fy + fh, fx : fx + fw], at.front)

    x0, y0, x1, y1 = at.head_box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], float) @ mh[:, :2].T + mh[:, 2]
    bx0, by0 = np.floor(corners.min(0)).astype(int) - 1
    bx1, by1 = np.ceil(corners.max(0)).astype(int) + 2
    bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, size), min(by1, size)
    if bx1 > bx0 and by1 > by0:
        mr = mh.copy()
        mr[0, 2] -= bx0
        mr[1, 2] -= by0
        head = cv2.warpAffine(
            layer,
            mr,
            (bx1 - bx0, by1 - by0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        roi = frame[by0:by1, bx0:bx1]
        inv = 255 - head[..., 3]
        roi[...] = cv2.add(
            head[..., :3], cv2.multiply(roi, cv2.merge([inv, inv, inv]), scale=1 / 255)
        )
    return frame


# --------------------------------------------------------------------------- motion

# name, centre, offset spread, total sinusoid amplitude, frequency range (Hz)
_CHANNELS: tuple[tuple[str, float, float, float, tuple[float, float]], ...] = (
    ("tx", 0.0, 0.03, 0.05, (0.03, 0.35)),
    ("ty", 0.0, 0.02, 0.035, (0.03, 0.35)),
    ("rotation", 0.0, 4.0, 10.0, (0.05, 0.4)),
    ("scale", 1.0, 0.05, 0.09, (0.02, 0.2)),
    ("yaw", 0.0, 0.2, 0.7, (0.05, 0.4)),
    ("brow_raise", 0.0, 0.2, 0.6, (0.1, 0.6)),
    ("gaze_x", 0.0, 0.2, 0.7, (0.1, 0.7)),
    ("gaze_y", 0.0, 0.1, 0.5, (0.1, 0.6)),
    ("jitter_x", 0.0, 0.0, 0.004, (0.4, 1.5)),
    ("jitter_y", 0.0, 0.0, 0.004, (0.4, 1.5)),
    ("eye_base", 0.93, 0.03, 0.05, (0.05, 0.3)),
    ("mouth_width", 1.0, 0.03, 0.06, (0.1, 0.5)),
)
_N_SIN = 3
_CH = {c[0]: i for i, c in enumerate(_CHANNELS)}
_MAX_SYLLABLE = 0.32  # seconds
_MAX_BLINK = 0.24


@dataclass(frozen=True, eq=False)
class MotionParams:
    """Closed-form description of one motion (evaluate with :func:`pose_at`).

    Head pose channels are sums of sinusoids; blinks and speech syllables are event
    lists. Events are generated sequentially, so a longer ``duration`` only appends events.
    """

    duration: float
    offsets: np.ndarray  # (C,)
    amps: np.ndarray  # (C, K)
    freqs: np.ndarray  # (C, K) in Hz
    phases: np.ndarray  # (C, K)
    blink_times: np.ndarray
    blink_durations: np.ndarray
    syllable_onsets: np.ndarray
    syllable_durations: np.ndarray
    syllable_amps: np.ndarray
    syllable_widths: np.ndarray


def sample_motion_params(rng: np.random.Generator, duration: float) -> MotionParams:
    """Draw a random motion covering ``[0, duration]`` seconds (closed form in time)."""
    seeds = rng.integers(0, 2**63 - 1, size=3)
    r_sin, r_blink, r_speech = (np.random.default_rng(int(x)) for x in seeds)

    c, k = len(_CHANNELS), _N_SIN
    offsets = np.empty(c)
    amps = np.empty((c, k))
    freqs = np.empty((c, k))
    phases = r_sin.uniform(0, 2 * math.pi, (c, k))
    energy = r_sin.uniform(0.3, 1.0)  # overall liveliness of this person
    for i, (_, centre, spread, amp, (f0, f1)) in enumerate(_CHANNELS):
        offsets[i] = centre + r_sin.uniform(-spread, spread)
        w = r_sin.dirichlet(np.ones(k))
        amps[i] = amp * w * energy * r_sin.uniform(0.6, 1.0)
        freqs[i] = np.exp(r_sin.uniform(math.log(f0), math.log(f1), k))

    bt: list[float] = []
    bd: list[float] = []
    t = float(r_blink.uniform(0.3, 2.5))
    while t < duration:
        bt.append(t)
        bd.append(float(r_blink.uniform(0.16, _MAX_BLINK)))
        t += 0.4 if r_blink.random() < 0.1 else float(r_blink.uniform(2.0, 5.0))

    phrases: list[np.ndarray] = []
    t = float(r_speech.uniform(0.0, 0.8))
    while t < duration:  # one phrase of syllables, then a pause
        k = int(r_speech.integers(2, 12))
        d = r_speech.uniform(0.14, _MAX_SYLLABLE, k)
        step = d * r_speech.uniform(0.8, 1.1, k)
        onsets = t + np.concatenate([[0.0], np.cumsum(step[:-1])])
        amp = r_speech.uniform(0.35, 1.0, k)
        wid = r_speech.uniform(-0.25, 0.2, k)
        phrases.append(np.stack([onsets, d, amp, wid]))
        t = float(onsets[-1] + step[-1] + r_speech.uniform(0.3, 1.5))
    so, sd, sa, sw = np.concatenate(phrases, axis=1) if phrases else np.zeros((4, 0))

    def arr(x: list[float]) -> np.ndarray:
        return np.asarray(x, dtype=float)

    return MotionParams(
        duration=float(duration),
        offsets=offsets,
        amps=amps,
        freqs=freqs,
        phases=phases,
        blink_times=arr(bt),
        blink_durations=arr(bd),
        syllable_onsets=so,
        syllable_durations=sd,
        syllable_amps=sa,
        syllable_widths=sw,
    )


def _events(
    t: np.ndarray, onsets: np.ndarray, durations: np.ndarray, weights: np.ndarray, shape
) -> np.ndarray:
    """Sum of ``weights[i] * shape(u)`` over events, ``u`` = position within event ``i``."""
    out = np.zeros_like(t)
    if onsets.size == 0:
        return out
    if t.size <= 64:
        u = (t[:, None] - onsets[None, :]) / durations[None, :]
        inside = (u >= 0) & (u < 1)
        return (weights[None, :] * np.where(inside, shape(np.clip(u, 0, 1)), 0.0)).sum(1)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    acc = np.zeros_like(ts)
    i0 = np.searchsorted(ts, onsets, "left")
    i1 = np.searchsorted(ts, onsets + durations, "left")
    for j in range(onsets.size):
        if i1[j] > i0[j]:
            seg = ts[i0[j] : i1[j]]
            acc[i0[j] : i1[j]] += weights[j] * shape((seg - onsets[j]) / durations[j])
    out[order] = acc
    return out


def _syllable_shape(u: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * u) ** 2


def _blink_shape(u: np.ndarray) -> np.ndarray:
    return np.clip(1.3 * np.sin(np.pi * u), 0.0, 1.0)


def _mouth(params: MotionParams, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mouth openness (0..1) and width offset at times ``t``."""
    on, du = params.syllable_onsets, params.syllable_durations
    opening = _events(t, on, du, params.syllable_amps, _syllable_shape)
    width = _events(t, on, du, params.syllable_widths, _syllable_shape)
    return np.clip(opening, 0.0, 1.0), width


def poses_at(params: MotionParams, times: Sequence[float] | np.ndarray) -> list[HeadPose]:
    """Evaluate the motion at arbitrary times (seconds)."""
    t = np.atleast_1d(np.asarray(times, dtype=float))
    ph = 2 * math.pi * params.freqs[None] * t[:, None, None] + params.phases[None]
    ch = params.offsets[None] + (params.amps[None] * np.sin(ph)).sum(-1)  # (T, C)
    closure = np.clip(
        _events(
            t,
            params.blink_times,
            params.blink_durations,
            np.ones_like(params.blink_times),
            _blink_shape,
        ),
        0.0,
        1.0,
    )
    opening, width = _mouth(params, t)
    eye = np.clip(ch[:, _CH["eye_base"]], 0.0, 1.0) * (1.0 - closure)
    for name in ("yaw", "brow_raise", "gaze_x", "gaze_y"):
        ch[:, _CH[name]] = np.clip(ch[:, _CH[name]], -1.0, 1.0)
    ch = ch.tolist()
    poses = []
    for i in range(t.size):
        row = ch[i]
        poses.append(
            HeadPose(
                tx=row[_CH["tx"]],
                ty=row[_CH["ty"]],
                rotation=row[_CH["rotation"]],
                scale=row[_CH["scale"]],
                yaw=row[_CH["yaw"]],
                eye_open=float(eye[i]),
                mouth_open=float(opening[i]),
                mouth_width=float(row[_CH["mouth_width"]] + width[i]),
                brow_raise=row[_CH["brow_raise"]],
                gaze_x=row[_CH["gaze_x"]],
                gaze_y=row[_CH["gaze_y"]],
                jitter_x=row[_CH["jitter_x"]],
                jitter_y=row[_CH["jitter_y"]],
            )
        )
    return poses


def pose_at(params: MotionParams, t: float) -> HeadPose:
    """Evaluate the motion at one time ``t`` (seconds)."""
    return poses_at(params, [t])[0]


def sample_motion(
    rng: np.random.Generator, num_frames: int, fps: float = DEFAULT_FPS
) -> list[HeadPose]:
    """Draw a random motion and return its poses at frames ``0 .. num_frames - 1``."""
    params = sample_motion_params(rng, num_frames / fps)
    return poses_at(params, np.arange(num_frames) / fps)


# --------------------------------------------------------------------------- seeds, videos


def style_for_seed(seed: int) -> HeadStyle:
    """The identity of ``seed``."""
    return HeadStyle.sample(_rng(seed, _STYLE_STREAM))


def motion_for_seed(seed: int, duration: float) -> MotionParams:
    """The motion of ``seed`` over ``[0, duration]`` seconds (prefix-consistent in duration)."""
    return sample_motion_params(_rng(seed, _MOTION_STREAM), duration)


class SyntheticVideo:
    """One procedural video: identity, motion and voice all fixed by ``seed``."""

    def __init__(self, seed: int, num_frames: int, size: int = 256, fps: float = DEFAULT_FPS):
        if num_frames < 0:
            raise ValueError("num_frames must be >= 0")
        self.seed = int(seed)
        self.num_frames = int(num_frames)
        self.size = int(size)
        self.fps = float(fps)
        self.style = style_for_seed(self.seed)
        self.motion = motion_for_seed(self.seed, self.num_frames / self.fps)

    def __len__(self) -> int:
        return self.num_frames

    def poses(self) -> list[HeadPose]:
        """Pose of every frame."""
        return poses_at(self.motion, np.arange(self.num_frames) / self.fps)

    def frames(self) -> Iterator[np.ndarray]:
        """Stream the frames (RGB uint8, ``size x size x 3``)."""
        for pose in self.poses():
            yield render_frame(self.style, pose, self.size)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def audio(self, sample_rate: int = 44100) -> np.ndarray:
        """The matching speech-like soundtrack (int16 mono)."""
        return make_speech_audio(self.seed, self.num_frames, self.fps, sample_rate)


def make_video(
    seed: int, num_frames: int, size: int = 256, fps: float = DEFAULT_FPS
) -> Iterator[np.ndarray]:
    """Stream the frames of the video of ``seed``."""
    return SyntheticVideo(seed, num_frames, size, fps).frames()


def video_poses(seed: int, num_frames: int, fps: float = DEFAULT_FPS) -> list[HeadPose]:
    """The pose sequence of the video of ``seed`` (same poses :func:`make_video` renders)."""
    return SyntheticVideo(seed, num_frames, fps=fps).poses()


def make_speech_audio(
    seed: int, num_frames: int, fps: float = DEFAULT_FPS, sample_rate: int = 44100
) -> np.ndarray:
    """Syllable-like voiced audio whose loudness follows the mouth openness of ``seed``.

    Returns ``round(num_frames / fps * sample_rate)`` int16 mono samples. Each syllable is a
    harmonic tone with formants driven by mouth opening/width, some with a short noise
    burst (consonant) at the onset.
    """
    n = round(num_frames / fps * sample_rate)
    if n <= 0:
        return np.zeros(0, np.int16)
    rng = _rng(seed, _AUDIO_STREAM)
    params = motion_for_seed(seed, num_frames / fps)
    t = np.arange(n) / sample_rate
    # control signals on a coarse grid, interpolated to audio rate
    tc = np.arange(0.0, n / sample_rate + 0.01, 0.005)
    open_c, width_c = _mouth(params, tc)
    f0_base = rng.uniform(95.0, 230.0)
    p1, p2 = rng.uniform(0, 2 * math.pi, 2)
    f0_c = f0_base * (
        1 + 0.06 * np.sin(2 * math.pi * 0.25 * tc + p1) + 0.03 * np.sin(2 * math.pi * 0.9 * tc + p2)
    )
    f1_c = 320.0 + 500.0 * open_c
    f2_c = 1100.0 + 2500.0 * (width_c + 0.25)
    f0 = np.interp(t, tc, f0_c)
    phase = 2 * math.pi * np.cumsum(f0) / sample_rate
    voiced = np.zeros(n)
    for h in range(1, 17):
        hf = h * f0_c
        w = (
            np.exp(-(((hf - f1_c) / 250.0) ** 2))
            + 0.6 * np.exp(-(((hf - f2_c) / 400.0) ** 2))
            + 0.15 / h
        )
        voiced += np.interp(t, tc, w) * np.sin(h * phase)
    env = np.interp(t, tc, open_c)
    sig = voiced * env
    noise = rng.standard_normal(n)
    hiss = np.diff(noise, prepend=0.0)
    for onset, amp in zip(params.syllable_onsets, params.syllable_amps, strict=True):
        if rng.random() < 0.6:
            i0 = int(onset * sample_rate)
            i1 = min(n, i0 + int(0.04 * sample_rate))
            if i1 > i0:
                win = np.hanning(i1 - i0)
                sig[i0:i1] += 0.4 * amp * win * hiss[i0:i1]
    peak = float(np.abs(sig).max())
    sig = sig * (0.7 / peak) if peak > 0 else sig
    sig += 0.002 * noise
    return np.clip(sig * 32767.0, -32768, 32767).astype(np.int16)


def sample_training_pair(
    rng: np.random.Generator, size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """A ``(source, driving)`` pair: two instants of one random training-split video."""
    seed = int(rng.integers(TRAIN_SEEDS.start, TRAIN_SEEDS.stop))
    style = style_for_seed(seed)
    params = motion_for_seed(seed, PAIR_MOTION_SECONDS)
    src_pose, drv_pose = poses_at(params, rng.uniform(0.0, PAIR_MOTION_SECONDS, 2))
    return render_frame(style, src_pose, size), render_frame(style, drv_pose, size)


def heldout_videos(
    count: int, num_frames: int, size: int = 256, fps: float = DEFAULT_FPS
) -> Iterator[tuple[int, Iterator[np.ndarray]]]:
    """``(seed, frames)`` for the first ``count`` held-out seeds, in order."""
    if not 0 <= count <= len(HELDOUT_SEEDS):
        raise ValueError(f"count must be in [0, {len(HELDOUT_SEEDS)}]")
    for seed in HELDOUT_SEEDS[:count]:
        yield seed, make_video(seed, num_frames, size, fps)
