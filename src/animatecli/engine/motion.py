"""Motion transfer shared by the families: re-express driving keypoints relative to the
source (FOMM §5.3; TPSMM's relative mode is the same without Jacobians)."""

from __future__ import annotations

import math
from enum import Enum

import torch

from .. import geometry
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
    """Area of the 2-D convex hull of ``N×2`` points (`geometry.convex_hull_area`)."""
    return geometry.convex_hull_area(points.detach().cpu().double().tolist())


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
