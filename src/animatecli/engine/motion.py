"""Motion transfer shared by the families: re-express driving keypoints relative to the
source (FOMM §5.3; TPSMM's relative mode is the same without Jacobians)."""

from __future__ import annotations

import math
from enum import Enum

import torch

from .keypoints import Keypoints


class MotionMode(str, Enum):
    """How driving motion is transferred to the source."""

    RELATIVE = "relative"  # driving displacement from the initial frame, applied to the source
    ABSOLUTE = "absolute"  # driving keypoints used as they are
    STANDARD = "standard"  # TPSMM's name for absolute
    AVD = "avd"  # a learned network re-poses the source's keypoints (TPSMM, when present)

    @property
    def canonical(self) -> MotionMode:
        """The mode this one means (``standard`` is ``absolute``)."""
        return MotionMode.ABSOLUTE if self is MotionMode.STANDARD else self


def convex_hull_area(points: torch.Tensor) -> float:
    """Area of the 2-D convex hull of ``N×2`` points, computed in float64.

    Monotone-chain hull and the shoelace formula; collinear or repeated points give 0.0
    instead of raising (SciPy's Qhull would).
    """
    pts = sorted({(float(x), float(y)) for x, y in points.detach().cpu().double().tolist()})
    if len(pts) < 3:
        return 0.0

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = lower[:-1] + upper[:-1]
    if len(hull) < 3:
        return 0.0
    twice_area = sum(
        hull[i][0] * hull[(i + 1) % len(hull)][1] - hull[(i + 1) % len(hull)][0] * hull[i][1]
        for i in range(len(hull))
    )
    return abs(twice_area) / 2.0


def movement_scale(kp_source: Keypoints, kp_initial: Keypoints) -> float:
    """``sqrt(area_source) / sqrt(area_initial)`` over batch element 0's hulls.

    A degenerate hull on either side (collinear keypoints) gives 1.0: no adaptation
    rather than a division by zero.
    """
    area_source = convex_hull_area(kp_source.value[0])
    area_initial = convex_hull_area(kp_initial.value[0])
    if area_source <= 0.0 or area_initial <= 0.0:
        return 1.0
    return math.sqrt(area_source) / math.sqrt(area_initial)


def normalize_keypoints(
    kp_source: Keypoints,
    kp_driving: Keypoints,
    kp_initial: Keypoints,
    *,
    relative: bool = True,
    relative_jacobian: bool = True,
    adapt_movement_scale: bool = False,
    scale: float | None = None,
) -> Keypoints:
    """Driving keypoints to feed the generator.

    Relative: ``value = (v_d − v_init)·s + v_s`` and, with ``relative_jacobian``,
    ``J = (J_d · J_init⁻¹) · J_s``; absolute: ``kp_driving`` unchanged. ``s`` is
    :func:`movement_scale` when ``adapt_movement_scale`` (pass a precomputed ``scale``
    to avoid recomputing the hulls per frame), else 1. Batch shapes broadcast, so
    ``kp_driving`` may hold many frames against batch-1 source/initial keypoints.
    """
    if not relative:
        return kp_driving
    if scale is None:
        scale = movement_scale(kp_source, kp_initial) if adapt_movement_scale else 1.0
    value = (kp_driving.value - kp_initial.value) * scale + kp_source.value
    jacobian = kp_driving.jacobian
    if relative_jacobian and jacobian is not None:
        assert kp_initial.jacobian is not None and kp_source.jacobian is not None
        jacobian = torch.matmul(jacobian, torch.inverse(kp_initial.jacobian))
        jacobian = torch.matmul(jacobian, kp_source.jacobian)
    return Keypoints(value, jacobian)
