"""The animate stage: driving batches through the model session, composed and handed to
the writer, as a stream (one batch in flight on the device where downloads overlap)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..engine import AnimationSession, GraphedSession, GroupSession, PendingFrames
from ..memory import PeriodicRelease, release_freed_memory
from ..progress import Reporter
from ..streaming import BackgroundWriter, Prefetcher
from .compose import Composer
from .driving import in_batches
from .runtime import Runtime

Session = AnimationSession | GroupSession | GraphedSession
# N×h×w×3 uint8 → N×(s·h)×(s·w)×3 uint8 (--upscale), applied batch by batch.
Upscale = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class _InFlight:
    """A batch queued on the device whose predictions may still be on their way back."""

    driving: list[np.ndarray]  # the frames as fitted for the model (for --compare)
    predictions: PendingFrames
    shape: tuple[int, ...]  # B×H×W×3, or B×F×H×W×3 for a group


def animate_frames(
    runtime: Runtime,
    session: Session,
    driving: Iterator[np.ndarray],
    batch_size: int,
    compose: Composer,
    writer: BackgroundWriter[np.ndarray],
    reporter: Reporter,
    upscale: Upscale | None = None,
) -> int:
    """Animate every fitted driving frame (h×w×3 uint8) and submit each composed output
    frame to ``writer``; returns the frames animated. ``upscale`` sharpens each batch of
    predictions before it is composed (memory stays one batch deep)."""
    # Where downloads overlap compute (CUDA), one batch stays in flight: the next is
    # queued on the device before the last one's frames are waited for.
    depth = 1 if runtime.transfer.overlaps else 0
    in_flight: deque[_InFlight] = deque()
    frames = 0
    # The holes the batches' maps leave in the heap, handed back every 10 s (`memory`):
    # without it a long job's peak grew with its length.
    release_now_and_then = PeriodicRelease()
    with Prefetcher(driving) as stream:
        for number, batch in enumerate(in_batches(stream, batch_size)):
            in_flight.append(_submit(runtime, session, batch))
            if number == 0:
                # The first batch made the layers' one-off kernels; what it freed on the
                # way is not needed again.
                release_freed_memory()
            else:
                release_now_and_then()
            while len(in_flight) > depth:
                frames += _emit(in_flight.popleft(), compose, writer, reporter, upscale)
        while in_flight:
            frames += _emit(in_flight.popleft(), compose, writer, reporter, upscale)
    return frames


def _submit(runtime: Runtime, session: Session, driving: list[np.ndarray]) -> _InFlight:
    """Upload one batch of driving frames, animate it and start its download."""
    runtime.threads.rebalance()
    batch = runtime.transfer.upload(np.stack(driving))
    with torch.inference_mode():
        animated = session.animate_batch(batch)
        # B×3×H×W, or B×F×3×H×W for a group (one crop per face of each frame).
        predictions = runtime.transfer.download(animated.flatten(0, -4))
    shape = (*animated.shape[:-3], *animated.shape[-2:], 3)
    return _InFlight(driving, predictions, shape)


def _emit(
    batch: _InFlight,
    compose: Composer,
    writer: BackgroundWriter[np.ndarray],
    reporter: Reporter,
    upscale: Upscale | None = None,
) -> int:
    """Hand a batch's output frames to the writer once its download is done."""
    predictions = batch.predictions.result().reshape(batch.shape)
    if upscale is not None:
        h, w = batch.shape[-3:-1]
        upscaled = upscale(predictions.reshape(-1, h, w, 3))
        predictions = upscaled.reshape(*batch.shape[:-3], *upscaled.shape[-3:])
    for driving_frame, prediction in zip(batch.driving, predictions, strict=True):
        writer.submit(compose(driving_frame, prediction))
    reporter.advance(len(batch.driving))
    return len(batch.driving)
