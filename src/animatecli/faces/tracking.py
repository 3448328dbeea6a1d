"""Group per-frame face boxes into tubes: FOMM's fixed-crop rule, and one that follows motion.

`FaceTracker` follows a face that moves (each detection is compared with the tube's latest
box, and a tube outlives a few missed detections); `fomm_segments` then cuts such a tube where
FOMM's rule would, for fixed crops. `tube_rejection` tells real faces from false positives.

`TubeTracker` is FOMM's ``crop-video.py`` trajectory logic, returning data instead of ffmpeg
commands:

1. Each open tube survives a frame iff some detection in that frame has IoU (FOMM's inclusive
   convention, `animatecli.faces.boxes.iou`) with the tube's **initial** box above the
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
from fractions import Fraction

import numpy as np

from animatecli.faces.boxes import iou
from animatecli.faces.types import FaceBox, FaceTube

# Detections per second of video by default (every 5th frame at 25 fps, every 6th at 30):
# a tube's ends are then known to within 0.2 s, and detection stays cheaper than playback.
DETECTIONS_PER_SECOND = 5


def default_stride(fps: Fraction | float) -> int:
    """Detection stride giving `DETECTIONS_PER_SECOND` detections per second of video."""
    return max(1, round(float(fps) / DETECTIONS_PER_SECOND))


def default_min_face(width: int, height: int) -> float:
    """Smallest face worth tracking by default, px: 1/8 of the frame's short side.

    It sets dlib's detection copy at 640 px on the short side whatever the resolution
    (80-px window / (short / 8)), fast enough for real time at `DETECTIONS_PER_SECOND`; a
    wide shot of small faces needs a smaller, explicit value.
    """
    return min(width, height) / 8.0


def _union(a: FaceBox, b: FaceBox) -> FaceBox:
    """Smallest box containing both (FOMM's ``join``); keeps the better score."""
    return FaceBox(
        min(a.x1, b.x1), min(a.y1, b.y1), max(a.x2, b.x2), max(a.y2, b.y2), max(a.score, b.score)
    )


def _next_frame(last: int | None, frame_index: int) -> int:
    """``frame_index``, checked to come after ``last`` (both trackers need increasing frames)."""
    if last is not None and frame_index <= last:
        raise ValueError(f"frame indices must increase: got {frame_index} after {last}")
    return frame_index


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
        self._last_frame = _next_frame(self._last_frame, frame_index)
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


class FaceTracker:
    """Tubes that follow moving faces, one face per tube.

    A detection continues the tube whose **latest** box it overlaps most (IoU above
    ``iou_with_last``), so a face panning across the frame stays one tube as long as it moves
    less than about half its size between examined frames. Each tube takes at most one
    detection per frame (the pairs with the largest IoU are matched first) and closes only
    after ``max_missed`` examined frames in a row without a match, so one missed detection
    does not cut a clip in two. Unmatched detections open new tubes.

    As with `TubeTracker`, call `update` only for examined frames, in increasing order, with
    an empty list for an examined frame without faces.
    """

    def __init__(self, iou_with_last: float = 0.3, max_missed: int = 2) -> None:
        self.iou_with_last = iou_with_last
        self.max_missed = max_missed
        self._tubes: list[FaceTube] = []
        self._open: list[tuple[FaceTube, list[int]]] = []  # tube, [examined frames missed]
        self._last_frame: int | None = None

    def update(self, frame_index: int, boxes: Iterable[FaceBox]) -> None:
        """Feed the detections of one examined frame.

        Raises:
            ValueError: frame indices not strictly increasing.
        """
        self._last_frame = _next_frame(self._last_frame, frame_index)
        detections = list(boxes)
        pairs = sorted(
            (
                (iou(tube.boxes[tube.end_frame], det), t, d)
                for t, (tube, _) in enumerate(self._open)
                for d, det in enumerate(detections)
            ),
            key=lambda p: -p[0],
        )
        matched_tubes: set[int] = set()
        matched_dets: set[int] = set()
        for overlap, t, d in pairs:
            if overlap <= self.iou_with_last:
                break
            if t in matched_tubes or d in matched_dets:
                continue
            matched_tubes.add(t)
            matched_dets.add(d)
            tube, missed = self._open[t]
            tube.end_frame = frame_index
            tube.union_box = _union(tube.union_box, detections[d])
            tube.boxes[frame_index] = detections[d]
            missed[0] = 0
        survivors: list[tuple[FaceTube, list[int]]] = []
        for t, (tube, missed) in enumerate(self._open):
            if t not in matched_tubes:
                missed[0] += 1
                if missed[0] > self.max_missed:
                    tube.closed = True
                    continue
            survivors.append((tube, missed))
        self._open = survivors
        for d, det in enumerate(detections):
            if d not in matched_dets:
                tube = FaceTube(det, det, frame_index, frame_index, {frame_index: det})
                self._open.append((tube, [0]))
                self._tubes.append(tube)

    @property
    def open_tubes(self) -> list[FaceTube]:
        """Tubes that can still grow, in the order they started."""
        return [tube for tube, _ in self._open]

    def finish(self) -> list[FaceTube]:
        """All tubes, in the order they started."""
        return list(self._tubes)


def fomm_segments(tube: FaceTube, iou_with_initial: float = 0.25) -> list[FaceTube]:
    """Cut one face's tube where FOMM's rule would: whenever the face no longer overlaps the
    segment's first box by more than ``iou_with_initial``. Each segment suits a fixed crop."""
    tracker = TubeTracker(iou_with_initial)
    for index in sorted(tube.boxes):
        tracker.update(index, [tube.boxes[index]])
    return tracker.finish()


# Fewest detections that tell a face from a false positive (`tube_rejection`).
MIN_DETECTIONS = 3


def tube_rejection(
    tube: FaceTube,
    every: int,
    *,
    min_detections: int = MIN_DETECTIONS,
    min_hit_rate: float = 0.5,
    max_size_step: float = 0.2,
) -> str | None:
    """Why ``tube`` is not a real face, or None when it looks like one.

    False positives (textures, ears, background patterns) fire on few of the examined frames
    and flicker in size; a real face is found on most examined frames and changes size
    smoothly even while zooming.

    Args:
        tube: the tube, detected every ``every`` frames.
        min_detections: fewest detections a face needs.
        min_hit_rate: detections / examined frames within the tube's span, at least.
        max_size_step: median relative size change between consecutive detections, at most.
    """
    frames = sorted(tube.boxes)
    if len(frames) < min_detections:
        return f"only {len(frames)} detection(s)"
    examined = (frames[-1] - frames[0]) // every + 1
    if len(frames) < min_hit_rate * examined:
        return f"found on {len(frames)} of {examined} examined frames"
    sides = np.array([tube.boxes[i].side for i in frames])
    step = float(np.median(np.abs(np.diff(np.log(sides)))))
    if step > max_size_step:
        return f"size changes by {step:.0%} between detections"
    return None
