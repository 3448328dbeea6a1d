"""Seeds: which integers are for training and which for evaluation, and the independent
random streams (identity, motion, voice) one seed fixes."""

from __future__ import annotations

import numpy as np

from .motion import MotionParams, sample_motion_params
from .style import HeadStyle

TRAIN_SEEDS = range(0, 10_000_000)
"""Seeds whose identities and motions may be used for training."""

HELDOUT_SEEDS = range(10_000_000, 20_000_000)
"""Seeds reserved for evaluation and examples; disjoint from :data:`TRAIN_SEEDS`."""

STYLE_STREAM, MOTION_STREAM, AUDIO_STREAM = 0, 1, 2


def seed_rng(seed: int, stream: int) -> np.random.Generator:
    """Independent generator for one part (style / motion / audio) of a seed."""
    return np.random.default_rng([int(seed), stream])


def style_for_seed(seed: int) -> HeadStyle:
    """The identity of ``seed``."""
    return HeadStyle.sample(seed_rng(seed, STYLE_STREAM))


def motion_for_seed(seed: int, duration: float) -> MotionParams:
    """The motion of ``seed`` over ``[0, duration]`` seconds (prefix-consistent in duration)."""
    return sample_motion_params(seed_rng(seed, MOTION_STREAM), duration)
