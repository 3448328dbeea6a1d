"""Colour arithmetic of the procedural heads (RGB tuples of ints, clipped to 0..255)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Color = tuple[int, int, int]


def clip_color(c: Sequence[float]) -> Color:
    r, g, b = (min(255, max(0, round(float(v)))) for v in c)
    return (r, g, b)


def shade(c: Sequence[float], k: float) -> Color:
    """Multiply a colour by ``k`` (clipped)."""
    return clip_color([v * k for v in c])


def mix(c1: Sequence[float], c2: Sequence[float], w: float) -> Color:
    """``(1 - w) * c1 + w * c2``."""
    return clip_color([(1.0 - w) * a + w * b for a, b in zip(c1, c2, strict=True)])


def clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else float(v)


def rgba(c: Color) -> tuple[int, int, int, int]:
    return (c[0], c[1], c[2], 255)


def jitter(rng: np.random.Generator, c: Color, amount: float) -> Color:
    return clip_color(np.asarray(c, float) + rng.uniform(-amount, amount, 3))
