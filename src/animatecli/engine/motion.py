"""Motion transfer shared by the families: re-express driving keypoints relative to the
source (FOMM §5.3; TPSMM's relative mode is the same without Jacobians), and the names of
the motion modes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .. import geometry
from .keypoints import KeypointExtra, Keypoints


class MotionMode(str):
    """The name of a way to transfer driving motion to the source.

    Every family supports the two the shared transfer implements, :attr:`RELATIVE` and
    :attr:`ABSOLUTE` (also called ``standard``, TPSMM's name); a family may declare more
    (TPSMM's ``avd``) in its :class:`~.protocol.Family` record and implement them in its
    :meth:`~.protocol.MotionModel.transfer`. Any name is a MotionMode; whether a model
    supports it is the model's call (:meth:`~.protocol.MotionModel.check_mode`).
    """

    RELATIVE: MotionMode  # driving displacement from the initial frame, applied to the source
    ABSOLUTE: MotionMode  # driving keypoints used as they are

    @property
    def value(self) -> str:
        """The plain name (as an enum member would give it)."""
        return str.__str__(self)

    @property
    def canonical(self) -> MotionMode:
        """The mode this one means: the shared mode an alias names (``standard`` is
        ``absolute``), else itself."""
        return _SHARED_ALIASES.get(self, self)


MotionMode.RELATIVE = MotionMode("relative")
MotionMode.ABSOLUTE = MotionMode("absolute")
_SHARED_ALIASES = {
    "relative": MotionMode.RELATIVE,
    "absolute": MotionMode.ABSOLUTE,
    "standard": MotionMode.ABSOLUTE,
}


@dataclass(frozen=True)
class ModeSpec:
    """A motion mode as a family declares it: its name, a few words for the help (what it
    does, what it needs) and other names for it. Only the shared modes have other names
    (:attr:`MotionMode.canonical` resolves them): a family's own mode has one name."""

    name: str
    help: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# The modes the shared transfer implements, which every family declares first.
SHARED_MODES: tuple[ModeSpec, ...] = (
    ModeSpec("relative", "transfer motion"),
    ModeSpec("absolute", "copy poses", aliases=("standard",)),
)


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
    extras: Sequence[KeypointExtra] = (),
    adapt_movement_scale: bool = False,
    scale: float | None = None,
) -> Keypoints:
    """Driving keypoints to feed the generator.

    Relative: ``value = (v_d − v_init)·s + v_s``, and each extra declared in ``extras``
    with a ``relative`` transform goes through it (FOMM's Jacobians:
    ``J = (J_d · J_init⁻¹) · J_s``); other extras are the driving frame's. Absolute:
    ``kp_driving`` unchanged. ``s`` is :func:`movement_scale` when
    ``adapt_movement_scale`` (pass a precomputed ``scale`` to avoid recomputing the hulls
    per frame), else 1. Batch shapes broadcast, so ``kp_driving`` may hold many frames
    against batch-1 source/initial keypoints.
    """
    if not relative:
        return kp_driving
    if scale is None:
        scale = movement_scale(kp_source, kp_initial) if adapt_movement_scale else 1.0
    value = (kp_driving.value - kp_initial.value) * scale + kp_source.value
    transformed = dict(kp_driving.extras)
    for extra in extras:
        if extra.relative is not None and extra.name in transformed:
            transformed[extra.name] = extra.relative(
                transformed[extra.name], kp_initial.extras[extra.name], kp_source.extras[extra.name]
            )
    return Keypoints(value, transformed)
