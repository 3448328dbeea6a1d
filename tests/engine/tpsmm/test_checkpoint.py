"""TPSMM checkpoints (the manifests are checked in test_family_contract.py): the official
container with strict keys, config inference and overrides, the optional AVD network, our format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from animatecli.engine import (
    Animator,
    UnsupportedMode,
    load_checkpoint,
    official_container,
)
from animatecli.engine.tpsmm import (
    OFFICIAL_CONFIGS,
    TpsmmConfig,
    TpsmmModel,
)
from animatecli.errors import CheckpointError
from animatecli.training.export import save_checkpoint

from ..references import GoldenModel
from .test_parity import ATOL_PREDICTION, assert_close


def official_file(
    path: Path, state: dict[str, dict[str, torch.Tensor]], *, prefix: str = "", avd: bool = True
) -> Path:
    """``state`` saved as the official training scripts do (plus optimiser and extras)."""
    container: dict[str, Any] = {
        part: {prefix + k: v for k, v in sd.items()}
        for part, sd in state.items()
        if avd or part != "avd_network"
    }
    container["bg_predictor"] = {"bg_encoder.fc.bias": torch.zeros(6)}
    container["optimizer"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    container["epoch"] = 99
    torch.save(container, path)
    return path


def test_official_layout_with_data_parallel_prefix(golden: dict[str, Any], tmp_path: Path) -> None:
    path = official_file(tmp_path / "tiny.pth.tar", golden["checkpoint"], prefix="module.")
    loaded = load_checkpoint(path)
    assert (loaded.family, loaded.kind, loaded.config_source) == ("tpsmm", "official", "inferred")
    assert loaded.config_name is None  # narrower than every official config
    expected = TpsmmConfig.from_model_params(golden["config"])
    assert loaded.config == expected
    assert loaded.align_corners is True  # TPSMM's own convention
    assert "avd" in loaded.model.modes
    session = Animator(loaded.model).session(golden["source"][0], mode="avd")
    prediction = session.animate_batch(golden["driving"])
    assert_close(prediction, golden["modes"]["avd"]["prediction"], ATOL_PREDICTION)


def test_avd_network_is_optional(golden: dict[str, Any], tmp_path: Path) -> None:
    path = official_file(tmp_path / "tiny.pth.tar", golden["checkpoint"], avd=False)
    loaded = load_checkpoint(path)
    assert loaded.model.avd_network is None
    assert "avd_network" not in official_container(loaded.model)
    assert loaded.describe()["modes"] == ["relative", "absolute"]
    animator = Animator(loaded.model)
    with pytest.raises(UnsupportedMode, match="--mode avd is not available for this TPSMM"):
        animator.session(golden["source"][0], mode="avd")
    # standard is TPSMM's name for absolute.
    session = animator.session(golden["source"][0], mode="standard")
    prediction = session.animate_batch(golden["driving"])
    assert_close(prediction, golden["modes"]["standard"]["prediction"], ATOL_PREDICTION)


def test_full_size_official_file_named_ted_is_ted_384(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TpsmmModel(OFFICIAL_CONFIGS["vox-256"][0], with_avd=True)
    path = official_file(tmp_path / "ted.pth.tar", official_container(model))
    loaded = load_checkpoint(path)
    assert loaded.config_name == "ted-384"
    assert loaded.config.frame_shape == (384, 384)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    overridden = load_checkpoint(path, config="mgif-256")
    assert (overridden.config_name, overridden.config_source) == ("mgif-256", "override")
    assert overridden.config.frame_shape == (256, 256)


def test_config_override_that_does_not_fit(golden: dict[str, Any], tmp_path: Path) -> None:
    path = official_file(tmp_path / "tiny.pth.tar", golden["checkpoint"])
    with pytest.raises(CheckpointError, match="--config given does not fit this file"):
        load_checkpoint(path, config="vox-256")
    with pytest.raises(CheckpointError, match="is a FOMM config"):
        load_checkpoint(path, config="nemo-256")


def test_missing_part_is_named(golden: dict[str, Any], tmp_path: Path) -> None:
    state = dict(golden["checkpoint"])
    state["inpainting_network"] = {
        k: v for k, v in state["inpainting_network"].items() if not k.startswith("final.")
    }
    path = official_file(tmp_path / "partial.pth.tar", state)
    with pytest.raises(CheckpointError, match=r"missing keys: final\.weight, final\.bias"):
        load_checkpoint(path)


def test_own_format_records_the_family(
    golden: dict[str, Any], tmp_path: Path, golden_model: GoldenModel
) -> None:
    model = golden_model(golden)
    path = tmp_path / "ours.pt"
    save_checkpoint(path, model, {"note": "tpsmm"})
    assert torch.load(path, weights_only=True)["family"] == "tpsmm"
    loaded = load_checkpoint(path)
    assert (loaded.family, loaded.kind, loaded.config_source) == ("tpsmm", "animatecli", "file")
    assert loaded.config == model.config  # the 128×128 frame size travels with our format
    assert loaded.metadata == {"note": "tpsmm"}
    assert loaded.model.avd_network is not None
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
