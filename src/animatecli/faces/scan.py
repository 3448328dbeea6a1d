"""One streaming pass over a video's frames: faces detected on a stride, linked into tubes,
and (optionally) each tube's frame closest to a reference pose, searched over every frame.

Detection runs on every ``every``-th frame and on the last one (so a face present to the
very end is not cut short). The frames in between are held until the next examined frame
(at most ``every - 1`` of them, so memory stays flat in the video's length); then each tube
detected on both examined frames gets a box on each held frame by linear interpolation, and
every one of those frames is measured (landmarks or keypoints of that face) against the
reference. A tube's best frame is therefore chosen among all frames it spans, not only the
examined ones, and among its own face only, whatever other faces share the frame.

Only each tube's current best frame is kept; the frame of a closed tube that can no longer
be the main face (rejected by `tube_rejection`, or with fewer detections than a closed tube
that is not) is released at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from animatecli.faces.landmarks import BestFrameSearch
from animatecli.faces.tracking import FaceTracker, tube_rejection
from animatecli.faces.types import FaceBox, FaceTube

# Points (N×2) of the face in ``box`` of each frame, None where none can be measured;
# called with several frames at once so keypoint models can batch them.
Measure = Callable[[Sequence[np.ndarray], Sequence[FaceBox]], Sequence[np.ndarray | None]]


def interpolate_box(a: FaceBox, b: FaceBox, t: float) -> FaceBox:
    """The box a fraction ``t`` (0 → ``a``, 1 → ``b``) of the way from ``a`` to ``b``."""
    return FaceBox(
        a.x1 + t * (b.x1 - a.x1),
        a.y1 + t * (b.y1 - a.y1),
        a.x2 + t * (b.x2 - a.x2),
        a.y2 + t * (b.y2 - a.y2),
        min(a.score, b.score),
    )


@dataclass
class BestFrame:
    """A tube's closest frame to the reference so far."""

    search: BestFrameSearch
    frame: np.ndarray | None = None  # H×W×3 uint8, the frame at ``search.best_index``


class FaceScan:
    """Feed the frames of one video in order; get its face tubes and each tube's best frame.

    Args:
        detect: faces of one H×W×3 uint8 frame, best first (already filtered by size).
        every: detection stride, frames.
        reference: N×2 points of the source pose; None to only track faces.
        measure: points of a face in each frame (see `Measure`); needed with ``reference``.
    """

    def __init__(
        self,
        detect: Callable[[np.ndarray], list[FaceBox]],
        every: int,
        reference: np.ndarray | None = None,
        measure: Measure | None = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be 1 or more, got {every}")
        if (reference is None) != (measure is None):
            raise ValueError("reference and measure go together")
        self.every = every
        self.frames = 0  # frames fed
        self.examined = 0  # frames the detector ran on
        self._detect = detect
        self._reference = reference
        self._measure = measure
        self._tracker = FaceTracker()
        self._held: list[tuple[int, np.ndarray]] = []  # frames since the last examined one
        self._last_examined = -1
        # id(tube) -> the tube and its best frame so far; the tracker keeps every tube alive,
        # so ids are never reused.
        self._best: dict[int, tuple[FaceTube, BestFrame]] = {}
        self._closed_leader = 0  # most detections of a closed tube that looks like a face

    @property
    def searching(self) -> bool:
        """Whether frames are measured against a reference (else faces are only tracked)."""
        return self._reference is not None

    def feed(self, index: int, frame: np.ndarray) -> None:
        """Frame ``index`` (0, 1, 2, ... in order), H×W×3 uint8."""
        if index != self.frames:
            raise ValueError(f"expected frame {self.frames}, got {index}")
        self.frames += 1
        if index % self.every == 0:
            self._examine(index, frame)
        elif self.searching:
            self._held.append((index, frame))
        else:  # only the latest frame is needed: the last one is always examined
            self._held = [(index, frame)]

    def finish(self) -> list[FaceTube]:
        """Examine the last frame if the stride skipped it; all tubes, in order of start."""
        if self._held:
            index, frame = self._held.pop()
            self._examine(index, frame)
        return self._tracker.finish()

    def best(self, tube: FaceTube) -> tuple[int, np.ndarray] | None:
        """``(index, frame)`` of the tube's frame closest to the reference, None when no frame
        of it could be measured (or its frame was released: it cannot be the main face)."""
        found = self._best.get(id(tube))
        if found is None:
            return None
        entry = found[1]
        if entry.frame is None or entry.search.best_index is None:
            return None
        return entry.search.best_index, entry.frame

    def _examine(self, index: int, frame: np.ndarray) -> None:
        self._tracker.update(index, self._detect(frame))
        self.examined += 1
        if self.searching:
            for tube in self._tracker.open_tubes:
                if index in tube.boxes:
                    self._search(tube, index, frame)
            self._release_hopeless()
        self._held = []
        self._last_examined = index

    def _search(self, tube: FaceTube, index: int, frame: np.ndarray) -> None:
        """Measure the tube's face on the held frames (when the tube was also detected on the
        previous examined frame, so its box there can be interpolated) and on this one."""
        assert self._reference is not None and self._measure is not None
        box = tube.boxes[index]
        frames: list[np.ndarray] = []
        boxes: list[FaceBox] = []
        indices: list[int] = []
        previous = tube.boxes.get(self._last_examined)
        if previous is not None:
            span = index - self._last_examined
            for held_index, held in self._held:
                frames.append(held)
                boxes.append(
                    interpolate_box(previous, box, (held_index - self._last_examined) / span)
                )
                indices.append(held_index)
        frames.append(frame)
        boxes.append(box)
        indices.append(index)
        if id(tube) not in self._best:
            self._best[id(tube)] = (tube, BestFrame(BestFrameSearch(self._reference)))
        entry = self._best[id(tube)][1]
        # In frame order, so ties keep the earliest frame (as a plain in-order search would).
        measured = self._measure(frames, boxes)
        for i, held, points in zip(indices, frames, measured, strict=True):
            before = entry.search.best_index
            entry.search.update(i, points)
            if entry.search.best_index != before:
                entry.frame = held

    def _release_hopeless(self) -> None:
        """Drop the frames of closed tubes that cannot become the main (most detected) face."""
        closed = [tube for tube, _ in self._best.values() if tube.closed]
        faces = {id(t) for t in closed if tube_rejection(t, self.every) is None}
        self._closed_leader = max(
            [self._closed_leader, *(len(t.boxes) for t in closed if id(t) in faces)]
        )
        for tube in closed:
            if id(tube) not in faces or len(tube.boxes) < self._closed_leader:
                del self._best[id(tube)]
