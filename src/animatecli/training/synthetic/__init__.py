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

from .audio import make_speech_audio
from .motion import (
    DEFAULT_FPS,
    MotionParams,
    pose_at,
    poses_at,
    sample_motion,
    sample_motion_params,
)
from .render import render_frame
from .seeds import HELDOUT_SEEDS, TRAIN_SEEDS, motion_for_seed, style_for_seed
from .style import HAIR_STYLES, HeadPose, HeadStyle
from .videos import (
    PAIR_MOTION_SECONDS,
    SyntheticVideo,
    heldout_videos,
    make_video,
    sample_training_pair,
    video_poses,
)

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
