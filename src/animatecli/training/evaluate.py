"""FOMM's reconstruction protocol on held-out synthetic videos, for a model of any family.

For each video: source = frame 0; for every frame t, predict it from the source with
the frame's own (absolute) keypoints. Reported: mean L1 of the predictions, mean L1 of
the copy-the-source baseline (``|frame_0 − frame_t|``), and the average keypoint
distance (AKD) between driving and generated frames, in pixels of the model's frame,
measured with the model's own keypoint detector (the only detector available offline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..engine import Animator, MotionMode, MotionModel, OneEuroSettings, frames_to_tensor
from .synthetic import DEFAULT_FPS, heldout_videos


@dataclass(frozen=True)
class ReconstructionScores:
    videos: int
    frames: int
    l1: float
    copy_source_l1: float
    akd_pixels: float

    @property
    def ratio(self) -> float:
        """Model L1 as a fraction of the copy-source baseline (lower is better)."""
        return self.l1 / self.copy_source_l1

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "ratio": self.ratio}


def evaluate_reconstruction(
    model: MotionModel,
    *,
    videos: int = 8,
    frames: int = 100,
    batch_size: int = 10,
    smoothing: OneEuroSettings | None = None,
    on_video: Callable[[int], None] | None = None,
) -> ReconstructionScores:
    """Reconstruction scores of ``model`` on the first ``videos`` held-out videos, with
    the driving keypoints smoothed over time by ``smoothing`` (None: raw)."""
    animator = Animator(model.eval())
    size = model.config.frame_shape[0]
    # Streamed: batch_size frames at a time, and running sums rather than per-frame lists,
    # so memory stays flat however many frames are asked for.
    count = 0
    l1 = copy = akd = 0.0
    for index, (_, stream) in enumerate(heldout_videos(videos, frames, size=size)):
        source: torch.Tensor | None = None
        session = None
        for chunk in _chunks(stream, batch_size):
            batch = frames_to_tensor(np.stack(chunk))
            if source is None:
                source = batch[0]
                session = animator.session(
                    source,
                    mode=MotionMode.ABSOLUTE,
                    adapt_scale=False,
                    smoothing=smoothing,
                    fps=DEFAULT_FPS,
                )
            assert session is not None
            prediction = session.animate_batch(batch)
            l1 += (prediction - batch).abs().mean(dim=(1, 2, 3)).double().sum().item()
            copy += (source - batch).abs().mean(dim=(1, 2, 3)).double().sum().item()
            kp_real = animator.keypoints(batch).value
            kp_fake = animator.keypoints(prediction).value
            # Normalised units span 2 across the frame: half the size per unit.
            dist = torch.linalg.vector_norm(kp_real - kp_fake, dim=-1) * (size / 2)
            akd += dist.mean(dim=1).double().sum().item()
            count += len(chunk)
        if on_video is not None:
            on_video(index)
    return ReconstructionScores(
        videos=videos,
        frames=count,
        l1=l1 / count,
        copy_source_l1=copy / count,
        akd_pixels=akd / count,
    )


def _chunks(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Consecutive lists of ``size`` frames (the last one shorter)."""
    chunk: list[np.ndarray] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
