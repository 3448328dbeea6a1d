"""Videos of a seed (streamed frame by frame), training pairs and the held-out set."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .audio import make_speech_audio
from .motion import DEFAULT_FPS, poses_at
from .render import render_frame
from .seeds import HELDOUT_SEEDS, TRAIN_SEEDS, motion_for_seed, style_for_seed
from .style import HeadPose

PAIR_MOTION_SECONDS = 20.0
"""Length of the motion from which :func:`sample_training_pair` picks its two instants."""


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
        """Stream the frames (RGB uint8, ``size x size x 3``); poses are computed a
        second's worth at a time, so memory does not grow with the length."""
        step = max(1, round(self.fps))
        for start in range(0, self.num_frames, step):
            times = np.arange(start, min(start + step, self.num_frames)) / self.fps
            for pose in poses_at(self.motion, times):
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
