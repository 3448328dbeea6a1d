"""The registry recognises families from container entries, and a third family plugs in
with its own module plus one registry entry (the engine's promise, tested)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from animatecli.engine import (
    Animator,
    Family,
    Keypoints,
    MotionMode,
    MotionModel,
    UnsupportedMode,
    family_named,
    load_checkpoint,
    official_container,
    registry,
)
from animatecli.engine.blocks import coordinate_grid, warp
from animatecli.training.export import save_checkpoint


def test_official_containers_name_their_family() -> None:
    part = {"w": torch.zeros(1)}
    assert registry.recognise({"kp_detector": part, "generator": part}).name == "fomm"
    tpsmm = {"kp_detector": part, "dense_motion_network": part, "inpainting_network": part}
    assert registry.recognise({**tpsmm, "epoch": 3}).name == "tpsmm"
    assert registry.recognise({"kp_detector": part}) is None
    assert family_named("tpsmm").default_align_corners is True
    with pytest.raises(KeyError):
        family_named("mraa")


# A third family, as its own subpackage would define it: a model that shifts the source by
# the mean displacement of two regressed points.


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
    family: ClassVar[str] = "shift"

    def __init__(self, config: ShiftConfig):
        super().__init__()
        self.config = config
        self.points = nn.Sequential(nn.Conv2d(3, config.width, 3), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(config.width, 4)
        self._align_corners = True

    @property
    def modes(self) -> tuple[MotionMode, ...]:
        return (MotionMode.RELATIVE, MotionMode.ABSOLUTE)

    def checkpoint_parts(self) -> dict[str, nn.Module]:
        return {"shift_points": self.points, "shift_head": self.head}

    @property
    def align_corners(self) -> bool:
        return self._align_corners

    def set_align_corners(self, align_corners: bool) -> None:
        self._align_corners = align_corners

    def detect(self, images: torch.Tensor) -> Keypoints:
        return Keypoints(torch.tanh(self.head(self.points(images).flatten(1))).view(-1, 2, 2))

    def encode_source(self, source: torch.Tensor) -> torch.Tensor:
        return source

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
        grid = coordinate_grid(*encoding.shape[2:], like=encoding) + shift.view(batch, 1, 1, 2)
        return Shifted(warp(encoding.expand(batch, -1, -1, -1), grid, self._align_corners))


def _infer(parts: Mapping[str, dict[str, torch.Tensor]]) -> ShiftConfig:
    return ShiftConfig(width=int(parts["shift_head"]["weight"].shape[1]))


def _build(config: ShiftConfig, _optional: Collection[str]) -> ShiftModel:
    return ShiftModel(config)


SHIFT = Family(
    name="shift",
    title="Shift",
    required_parts=("shift_points", "shift_head"),
    optional_parts=(),
    official_configs={"shift-32": (ShiftConfig(), "shift.pth")},
    config_from_dict=lambda d: ShiftConfig(d["width"], tuple(d["frame_shape"])),
    infer_config=_infer,
    build=_build,
    matching_official_config=lambda config, _name: "shift-32" if config == ShiftConfig() else None,
    default_align_corners=True,
)


def test_a_third_family_needs_only_its_module_and_a_registry_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, SHIFT))
    torch.manual_seed(0)
    model = ShiftModel(ShiftConfig(width=6)).eval()
    official = tmp_path / "shift-official.pth"
    torch.save({**official_container(model), "epoch": 1}, official)
    loaded = load_checkpoint(official)
    assert (loaded.family, loaded.kind, loaded.config_source) == ("shift", "official", "inferred")
    assert loaded.config == ShiftConfig(width=6)

    frames = torch.rand(3, 3, 32, 32)
    session = Animator(loaded.model).session(frames[0])
    assert session.animate_batch(frames).shape == (3, 3, 32, 32)
    with pytest.raises(UnsupportedMode, match="not available for this SHIFT model"):
        Animator(loaded.model).session(frames[0], mode="avd")

    ours = tmp_path / "shift.pt"
    save_checkpoint(ours, loaded.model)
    again = load_checkpoint(ours)
    assert (again.family, again.config) == ("shift", ShiftConfig(width=6))
