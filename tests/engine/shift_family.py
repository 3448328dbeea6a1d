"""A third model family for the tests, written as its own subpackage would be: a model that
shifts and zooms the source by what two regressed keypoints did, with a per-keypoint
scalar extra (``spread``, not a Jacobian) and a mode of its own (``mirror``).

Nothing in the shipped engine names it: tests register :data:`SHIFT` in the registry (the
``shift_family`` fixture) and it goes through the Animator, smoothing, relative motion,
group sessions and checkpoints as FOMM and TPSMM do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from animatecli.engine import Family, Keypoints, MotionMode, MotionModel
from animatecli.engine.blocks import coordinate_grid, warp
from animatecli.engine.keypoints import KeypointExtra
from animatecli.engine.motion import SHARED_MODES, ModeSpec
from animatecli.engine.protocol import OfficialConfig

SPREAD = "spread"
MIRROR = MotionMode("mirror")


def relative_spread(
    driving: torch.Tensor, initial: torch.Tensor, source: torch.Tensor
) -> torch.Tensor:
    """Relative motion scales the source's spread by the driving frame's change."""
    return source * driving / initial


# Each keypoint's spread (a positive scalar, ``B×K``), carried over relative motion as a ratio.
SPREAD_EXTRA = KeypointExtra(SPREAD, (), relative_spread)


@dataclass(frozen=True)
class ShiftConfig:
    width: int = 4
    frame_shape: tuple[int, int] = (32, 32)

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "frame_shape": list(self.frame_shape)}


@dataclass
class Shifted:
    prediction: torch.Tensor
    deformed: torch.Tensor | None = None


class ShiftModel(MotionModel):
    """Two keypoints (``B×2×2``) and their spreads (``B×2``, in (0.5, 1.5)) regressed from
    the frame; the generator shifts the source by the mean keypoint displacement and zooms
    it by the mean spread ratio."""

    family: ClassVar[str] = "shift"
    keypoint_extras = (SPREAD_EXTRA,)

    def __init__(self, config: ShiftConfig):
        super().__init__()
        self.config = config
        self.points = nn.Sequential(nn.Conv2d(3, config.width, 3), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(config.width, 6)
        self._align_corners = True

    @property
    def modes(self) -> tuple[MotionMode, ...]:
        return (MotionMode.RELATIVE, MotionMode.ABSOLUTE, MIRROR)

    def checkpoint_parts(self) -> dict[str, nn.Module]:
        return {"shift_points": self.points, "shift_head": self.head}

    @property
    def align_corners(self) -> bool:
        return self._align_corners

    def set_align_corners(self, align_corners: bool) -> None:
        self._align_corners = align_corners

    def detect(self, images: torch.Tensor) -> Keypoints:
        out = self.head(self.points(images).flatten(1))
        value = torch.tanh(out[:, :4]).view(-1, 2, 2)
        return Keypoints(value, {SPREAD: 0.5 + torch.sigmoid(out[:, 4:])})

    def encode_source(self, source: torch.Tensor) -> torch.Tensor:
        return source

    def transfer(
        self,
        kp_source: Keypoints,
        kp_driving: Keypoints,
        kp_initial: Keypoints,
        mode: MotionMode,
        scale: float,
    ) -> Keypoints:
        """``mirror``: the driving keypoints mirrored left-right; else the shared transfer."""
        if mode.canonical == MIRROR:
            flip = torch.tensor([-1.0, 1.0], device=kp_driving.value.device)
            return Keypoints(kp_driving.value * flip, kp_driving.extras)
        return super().transfer(kp_source, kp_driving, kp_initial, mode, scale)

    def generate(
        self,
        encoding: torch.Tensor,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> Shifted:
        batch = kp_driving.value.shape[0]
        shift = (kp_source.value - kp_driving.value).mean(dim=1)  # B×2
        zoom = (kp_source.extras[SPREAD] / kp_driving.extras[SPREAD]).mean(dim=1)  # B
        grid = coordinate_grid(*encoding.shape[2:], like=encoding)
        grid = grid * zoom.view(batch, 1, 1, 1) + shift.view(batch, 1, 1, 2)
        source = encoding.expand(batch, -1, -1, -1) if encoding.shape[0] == 1 else encoding
        return Shifted(warp(source, grid, self._align_corners))


def _infer(parts: Mapping[str, dict[str, torch.Tensor]]) -> ShiftConfig:
    return ShiftConfig(width=int(parts["shift_head"]["weight"].shape[1]))


def _build(config: ShiftConfig, _optional: Collection[str]) -> ShiftModel:
    return ShiftModel(config)


SHIFT = Family(
    name="shift",
    title="Shift",
    required_parts=("shift_points", "shift_head"),
    optional_parts=(),
    official_configs={"shift-32": OfficialConfig(ShiftConfig(), "shift.pth", "body")},
    config_from_dict=lambda d: ShiftConfig(d["width"], tuple(d["frame_shape"])),
    infer_config=_infer,
    build=_build,
    matching_official_config=lambda config, _name: "shift-32" if config == ShiftConfig() else None,
    default_align_corners=True,
    modes=(*SHARED_MODES, ModeSpec(MIRROR, "mirror the driving poses (test family)")),
)
