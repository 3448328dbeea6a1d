"""The registry recognises families from container entries, and a third family plugs in
with its own module plus one registry entry (the engine's promise, tested; the family is
tests/engine/shift_family.py, the contract it meets tests/engine/test_family_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from animatecli.engine import (
    Animator,
    UnsupportedMode,
    family_named,
    load_checkpoint,
    official_container,
    registry,
)
from animatecli.training.export import save_checkpoint

from .shift_family import ShiftConfig, ShiftModel


def test_official_containers_name_their_family() -> None:
    part = {"w": torch.zeros(1)}
    assert registry.recognise({"kp_detector": part, "generator": part}).name == "fomm"
    tpsmm = {"kp_detector": part, "dense_motion_network": part, "inpainting_network": part}
    assert registry.recognise({**tpsmm, "epoch": 3}).name == "tpsmm"
    assert registry.recognise({"kp_detector": part}) is None
    assert family_named("tpsmm").default_align_corners is True
    with pytest.raises(KeyError):
        family_named("mraa")


@pytest.mark.usefixtures("shift_family")
def test_a_third_family_needs_only_its_module_and_a_registry_entry(tmp_path: Path) -> None:
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
