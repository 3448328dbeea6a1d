"""CUDA graphs for the generate step: one launch per batch instead of hundreds.

At batch 16 the GPU finishes a generator pass faster than Python can queue its few
hundred kernels; a CUDA graph records them once and replays them with one call. Only the
generate step is captured (dense motion + generator, most of the work): the keypoint
detector stays eager, and so does the per-frame motion transfer and smoothing, whose
state lives in Python. A graph holds fixed shapes and addresses, so it serves one
session (its source) at one batch size; other batch sizes (the last, short batch of a
video) run eagerly. Any failure to capture (an operation that needs the host mid-way,
say) leaves the session eager for good, with the reason kept for the report.
"""

from __future__ import annotations

import torch

from .animator import AUTOCAST_DTYPES, AnimationSession
from .keypoints import Keypoints

_WARM_UP_RUNS = 3  # eager runs on a side stream before capture (lazy cuBLAS/cuDNN set-up)


class GraphedSession:
    """An :class:`AnimationSession` whose generate step replays a CUDA graph for batches of
    ``batch_size`` frames; anything else, and everything after a failed capture, is the
    session's own eager path. Same inputs and outputs as ``session.animate_batch``."""

    def __init__(self, session: AnimationSession, batch_size: int):
        if session.animator.device.type != "cuda":
            raise ValueError("CUDA graphs need a session on a CUDA device")
        self.session = session
        self.batch_size = batch_size
        self.reason = f"eager: no batch of {batch_size} frames yet"
        self._graph: torch.cuda.CUDAGraph | None = None
        self._failed = False
        self._kp: Keypoints | None = None  # the graph's input buffers
        self._prediction: torch.Tensor | None = None  # its output buffer

    @property
    def replaying(self) -> bool:
        """Whether batches of ``batch_size`` replay the graph."""
        return self._graph is not None

    def _generate(self, kp_driving: Keypoints) -> torch.Tensor:
        """The eager generate step (``B×3×H×W`` float32) as the session runs it, with the
        autocast weight cache off: cached casts made during capture would be freed
        behind the graph's back."""
        animator = self.session.animator
        half = AUTOCAST_DTYPES.get(animator.precision)
        with (
            animator._precision(),
            torch.autocast("cuda", dtype=half, enabled=half is not None, cache_enabled=False),
        ):
            generated = animator.model.generate(
                self.session.source.encoding, kp_driving, self.session.source.keypoints
            )
        return generated.prediction.float()

    def _capture(self, kp_driving: Keypoints) -> None:
        device = self.session.animator.device
        torch.cuda.synchronize(device)  # nothing else in flight while the capture records
        self._kp = kp_driving.map(torch.clone)
        with torch.cuda.device(device):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(_WARM_UP_RUNS):
                    self._generate(self._kp)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._prediction = self._generate(self._kp)
        self._graph = graph

    @torch.inference_mode()
    def animate_batch(self, frames: torch.Tensor) -> torch.Tensor:
        """``B×3×H×W`` driving frames in ``[0, 1]`` → ``B×3×H×W`` predictions (float32)."""
        session = self.session
        if self._failed or frames.shape[0] != self.batch_size or session.with_deformed:
            return session.animate_batch(frames)
        kp_driving = session.normalized(session.animator.keypoints(frames))
        if self._graph is None:
            try:
                self._capture(kp_driving)
            except RuntimeError as exc:  # what torch raises for a failed capture
                self._failed, self._graph = True, None
                self.reason = f"eager: capture failed ({' '.join(str(exc).split())[:160]})"
                torch.cuda.synchronize(session.animator.device)
                return self._generate(kp_driving)
            self.reason = f"CUDA graph replayed at batch {self.batch_size}"
        assert self._kp is not None and self._prediction is not None
        self._kp.value.copy_(kp_driving.value)
        for name, buffer in self._kp.extras.items():
            buffer.copy_(kp_driving.extras[name])
        self._graph.replay()  # type: ignore[union-attr]
        # The next replay overwrites the output buffer: hand out a copy.
        return self._prediction.clone()
