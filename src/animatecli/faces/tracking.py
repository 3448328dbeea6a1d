"""Group per-frame face boxes into tubes, with the First Order Motion Model's semantics.

This is FOMM's ``crop-video.py`` trajectory logic, returning data instead of ffmpeg commands:

1. Each open tube survives a frame iff some detection in that frame has IoU (FOMM's inclusive
   convention, `animatecli.faces.geometry.iou`) with the tube's **initial** box above the
   threshold; the others close for good.
2. Then each detection, in the given order, joins the surviving (or newly opened) tube with the
   largest IoU against that tube's initial box, if above the threshold, the first such tube
   winning ties; joining extends the tube's end frame and union box. A detection matching no
   tube opens a new one, which later detections of the same frame can join.

Comparing against the initial box, not the last one, is FOMM's choice: a face that drifts too
far from where it started ends its tube, so the tube's union box, and hence the crop, stays
tight enough for the model.

Detection every Nth frame: call `TubeTracker.update` only for frames where detection ran.
Frames skipped in between neither close nor extend a tube, so a tube spans the gap (its
``end_frame`` and ``num_frames`` count the skipped frames; ``boxes`` has entries only for
detected frames). A detected frame with no faces must still be reported, with an empty list:
that is what closes tubes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from animatecli.faces.detect import FaceBox
from animatecli.faces.geometry import iou


def _union(a: FaceBox, b: FaceBox) -> FaceBox:
    """Smallest box containing both (FOMM's ``join``); keeps the better score."""
    return FaceBox(
        min(a.x1, b.x1), min(a.y1, b.y1), max(a.x2, b.x2), max(a.y2, b.y2), max(a.score, b.score)
    )


@dataclass
class FaceTube:
    """One face followed over consecutive frames.

    Attributes:
        initial_box: the detection that opened the tube; every match is measured against it.
        union_box: the smallest box containing every detection of the tube (what FOMM crops).
        start_frame: index of the first frame.
        end_frame: index of the last frame with a matching detection (inclusive).
        boxes: frame index -> the detection used for that frame. If two detections of one frame
            joined the tube (both enter the union, as in FOMM), the one with the larger IoU
            against the initial box is kept here.
        closed: True once a detected frame had no match (the tube can never grow again).
    """

    initial_box: FaceBox
    union_box: FaceBox
    start_frame: int
    end_frame: int
    boxes: dict[int, FaceBox] = field(default_factory=dict)
    closed: bool = False

    @property
    def num_frames(self) -> int:
        """Frames spanned, ``end_frame - start_frame + 1`` (skipped frames included)."""
        return self.end_frame - self.start_frame + 1


class TubeTracker:
    """Incremental FOMM tube tracking; see the module docstring for the exact rules.

    Args:
        iou_with_initial: a detection continues a tube only with IoU above this (FOMM: 0.25).
    """

    def __init__(self, iou_with_initial: float = 0.25) -> None:
        self.iou_with_initial = iou_with_initial
        self._tubes: list[FaceTube] = []  # every tube ever opened, in opening order
        self._open: list[FaceTube] = []  # FOMM's ``trajectories``: survivors first, then new
        self._last_frame: int | None = None

    def update(self, frame_index: int, boxes: Iterable[FaceBox]) -> None:
        """Feed the detections of one frame (in detector order, best first).

        Raises:
            ValueError: frame indices not strictly increasing.
        """
        if self._last_frame is not None and frame_index <= self._last_frame:
            raise ValueError(
                f"frame indices must increase: got {frame_index} after {self._last_frame}"
            )
        self._last_frame = frame_index
        detections = list(boxes)
        thr = self.iou_with_initial

        survivors: list[FaceTube] = []
        for tube in self._open:
            best = max((iou(tube.initial_box, d) for d in detections), default=0.0)
            if best > thr:
                survivors.append(tube)
            else:
                tube.closed = True
        self._open = survivors

        for det in detections:
            # Strict ">" keeps the first tube among equals, exactly as FOMM's loop does.
            chosen: FaceTube | None = None
            chosen_iou = 0.0
            for tube in self._open:
                overlap = iou(tube.initial_box, det)
                if overlap > chosen_iou and overlap > thr:
                    chosen, chosen_iou = tube, overlap
            if chosen is None:
                tube = FaceTube(det, det, frame_index, frame_index, {frame_index: det})
                self._open.append(tube)
                self._tubes.append(tube)
                continue
            chosen.end_frame = frame_index
            chosen.union_box = _union(chosen.union_box, det)
            previous = chosen.boxes.get(frame_index)
            if previous is None or chosen_iou > iou(chosen.initial_box, previous):
                chosen.boxes[frame_index] = det

    @property
    def open_tubes(self) -> list[FaceTube]:
        """Tubes that can still grow, in FOMM's order (survivors, then newer)."""
        return list(self._open)

    def finish(self) -> list[FaceTube]:
        """All tubes, closed and still open, in the order they started.

        Open tubes are left open (not marked closed), so more frames may still be fed.
        """
        return list(self._tubes)


def track_faces(
    detections: Iterable[tuple[int, Iterable[FaceBox]]], iou_with_initial: float = 0.25
) -> list[FaceTube]:
    """Convenience: run a `TubeTracker` over ``(frame_index, boxes)`` pairs."""
    tracker = TubeTracker(iou_with_initial)
    for index, boxes in detections:
        tracker.update(index, boxes)
    return tracker.finish()
