"""Best-frame search (FOMM §7.1, ``--find_best_frame``): the driving frame whose face pose is
closest to the source's.

FOMM normalises each landmark set for position and scale (centroid to the origin, divided by
the square root of its convex-hull area) and picks the frame with the smallest sum of squared
differences to the source. Starting the animation from that frame makes the relative motion
transfer start from a matching pose. Works for any N×2 point set with a fixed ordering:
68 face landmarks or the model's own keypoints.
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import convex_hull_area


def normalize_landmarks(points: np.ndarray) -> np.ndarray:
    """Centre the points and divide by sqrt(area of their 2-D convex hull).

    Args:
        points: N×2 array of (x, y) pixels (any real dtype).

    Returns:
        N×2 float64, centroid at the origin, scale-free.

    Degenerate sets (fewer than 3 points, all collinear or coincident) have no 2-D hull;
    we then divide by sqrt of the bounding-box area instead, or by 1.0 when
    that is zero too (points on an axis-parallel line), so a bad landmark set just yields a
    large distance instead of crashing the search.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f"expected N×2 points, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite")
    centred = pts - pts.mean(axis=0, keepdims=True)
    area = convex_hull_area(centred)
    box_area = float(np.prod(centred.max(axis=0) - centred.min(axis=0)))
    # A flat hull (collinear or coincident points; relative to the box, so rounding
    # in a near-flat set counts as flat) falls back to the box, a flat box to 1.
    if area > 1e-12 * box_area:
        return centred / math.sqrt(area)
    return centred / (math.sqrt(box_area) if box_area > 0 else 1.0)


def landmark_distance(a_norm: np.ndarray, b_norm: np.ndarray) -> float:
    """Sum of squared differences between two normalised N×2 point sets (FOMM's criterion)."""
    a = np.asarray(a_norm, dtype=np.float64)
    b = np.asarray(b_norm, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"point sets differ in shape: {a.shape} vs {b.shape}")
    return float(((a - b) ** 2).sum())


class BestFrameSearch:
    """Incrementally find the frame whose points are closest to a reference.

    Frames are fed in any order of indices; ties keep the frame seen first (strict less-than,
    as FOMM), which for in-order feeding is the earliest frame.

    Args:
        reference_points: N×2 points of the source image (normalised here).
    """

    def __init__(self, reference_points: np.ndarray) -> None:
        self.reference = normalize_landmarks(reference_points)
        self._best_index: int | None = None
        self._best_distance = math.inf

    def update(self, index: int, points: np.ndarray | None) -> float | None:
        """Consider frame ``index``; ``None`` means no face there (skipped).

        Returns:
            The frame's distance to the reference, or None when skipped.

        Raises:
            ValueError: the points do not have the reference's shape.
        """
        if points is None:
            return None
        distance = landmark_distance(self.reference, normalize_landmarks(points))
        if distance < self._best_distance:
            self._best_distance = distance
            self._best_index = index
        return distance

    @property
    def best_index(self) -> int | None:
        """Index of the closest frame so far, None if no frame had points."""
        return self._best_index

    @property
    def best_distance(self) -> float:
        """Distance of the closest frame so far (``inf`` if none)."""
        return self._best_distance
