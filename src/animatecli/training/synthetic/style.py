"""Who is drawn and how they stand: an identity's appearance (:class:`HeadStyle`) and a
head pose (:class:`HeadPose`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import colors
from .colors import Color

HAIR_STYLES = ("short", "side_part", "bun", "long", "curly")

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
            skin = colors.jitter(rng, _SKIN_FANTASY[rng.integers(len(_SKIN_FANTASY))], 15)
        else:
            skin = colors.jitter(rng, _SKIN_TONES[rng.integers(len(_SKIN_TONES))], 12)
        hair = colors.jitter(rng, _HAIR_COLORS[rng.integers(len(_HAIR_COLORS))], 14)
        if rng.random() < 0.3:
            lips = colors.jitter(rng, _LIPSTICK[rng.integers(len(_LIPSTICK))], 15)
        else:
            lips = colors.mix(
                colors.clip_color((skin[0] * 0.85 + 20, skin[1] * 0.55, skin[2] * 0.58)), skin, 0.1
            )
        bg_a = colors.clip_color(rng.uniform(25, 235, 3))
        # second background colour: related hue, different brightness -> visible pattern
        bg_b = colors.clip_color(
            np.asarray(bg_a, float) * rng.uniform(0.55, 0.85) + rng.uniform(-40, 40, 3)
        )
        if rng.random() < 0.5:
            bg_b = colors.clip_color(255 - np.asarray(bg_b, float) * 0.4)
        shirt = colors.clip_color(rng.uniform(20, 235, 3))
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
            eye_color=colors.jitter(rng, _EYE_COLORS[rng.integers(len(_EYE_COLORS))], 12),
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
            shirt_trim=colors.shade(shirt, float(rng.uniform(0.45, 0.7))),
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
