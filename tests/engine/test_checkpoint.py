"""The family-blind checkpoint layer (animatecli.engine.checkpoint): our format's content,
built in memory for every registered family, and read back through the safe loader.

Each family's official layouts are tested in its own folder (fomm/, tpsmm/); writing the
file is animatecli.training.export's (tests/training/test_export.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from testutil import tiny_model_config

from animatecli.engine import FAMILIES, MotionModel, checkpoint_payload, load_checkpoint
from animatecli.engine.checkpoint import FORMAT_TAG, FORMAT_VERSION, read_checkpoint_file
from animatecli.engine.tpsmm import TpsmmConfig
from animatecli.engine.tpsmm.config import AvdConfig, DenseMotionConfig, InpaintingConfig
from animatecli.errors import CheckpointError

# A few-thousand-parameter config per family (TPSMM's keypoint ResNet stays full size).
TINY_CONFIGS: dict[str, Any] = {
    "fomm": tiny_model_config(),
    "tpsmm": TpsmmConfig(
        num_tps=2,
        generator=InpaintingConfig(block_expansion=8, max_features=32, num_down_blocks=2),
        dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3),
        avd=AvdConfig(id_bottle_size=16, pose_bottle_size=16),
        frame_shape=(64, 64),
    ),
}


def test_every_family_has_a_tiny_config_here() -> None:
    assert {family.name for family in FAMILIES} == set(TINY_CONFIGS)


@pytest.fixture(params=[family.name for family in FAMILIES])
def model(request: pytest.FixtureRequest) -> MotionModel:
    """A random-weight model of each family, with every optional part it can have."""
    family = next(f for f in FAMILIES if f.name == request.param)
    torch.manual_seed(0)
    return family.build(TINY_CONFIGS[family.name], family.optional_parts).eval()


def saved(payload: dict[str, Any], path: Path) -> Path:
    torch.save(payload, path)
    return path


def test_the_payload_names_format_family_and_convention(model: MotionModel) -> None:
    model.set_align_corners(True)
    payload = checkpoint_payload(model, {"steps": 3, "eval": {"l1": 0.25}})
    assert payload["format"] == FORMAT_TAG and payload["version"] == FORMAT_VERSION
    assert payload["family"] == model.family
    assert payload["config"] == model.config.to_dict()
    assert payload["align_corners"] is True
    assert payload["metadata"] == {"steps": 3, "eval": {"l1": 0.25}}
    parts = model.checkpoint_parts()
    assert set(parts) <= set(payload)
    for name, module in parts.items():
        assert payload[name].keys() == module.state_dict().keys()


def test_the_payload_is_a_snapshot_on_the_cpu(model: MotionModel) -> None:
    payload = checkpoint_payload(model)
    name, module = next(iter(model.checkpoint_parts().items()))
    key, tensor = next((k, v) for k, v in module.state_dict().items() if v.is_floating_point())
    before = payload[name][key].clone()
    with torch.no_grad():
        tensor.add_(1.0)  # training goes on after the snapshot
    assert torch.equal(payload[name][key], before)
    assert all(
        v.device.type == "cpu" and not v.requires_grad
        for part in model.checkpoint_parts()
        for v in payload[part].values()
    )


def test_half_stores_float_weights_as_fp16_only(model: MotionModel) -> None:
    payload = checkpoint_payload(model, half=True)
    for part, module in model.checkpoint_parts().items():
        for key, original in module.state_dict().items():
            stored = payload[part][key]
            expected = torch.float16 if original.is_floating_point() else original.dtype
            assert stored.dtype == expected, (part, key)


def test_our_format_round_trips_through_the_safe_loader(model: MotionModel, tmp_path: Path) -> None:
    model.set_align_corners(not model.align_corners)
    path = saved(checkpoint_payload(model, {"note": "round trip"}), tmp_path / "ours.pt")
    loaded = load_checkpoint(path)
    assert (loaded.kind, loaded.config_source) == ("animatecli", "file")
    assert loaded.family == model.family and loaded.config == model.config
    assert loaded.align_corners == model.align_corners
    assert loaded.metadata == {"note": "round trip"}
    for name, module in model.checkpoint_parts().items():
        reloaded = loaded.model.checkpoint_parts()[name].state_dict()
        for key, value in module.state_dict().items():
            assert torch.equal(reloaded[key], value), (name, key)
    summary = loaded.describe()
    assert json.loads(json.dumps(summary)) == summary  # JSON-able for --json and doctor
    assert summary["family"] == model.family and summary["modes"]


def test_fp16_files_load_as_float32_rounded_weights(model: MotionModel, tmp_path: Path) -> None:
    path = saved(checkpoint_payload(model, half=True), tmp_path / "half.pt")
    loaded = load_checkpoint(path)
    for name, module in model.checkpoint_parts().items():
        reloaded = loaded.model.checkpoint_parts()[name].state_dict()
        for key, value in module.state_dict().items():
            if value.is_floating_point():
                assert reloaded[key].dtype == torch.float32
                assert torch.equal(reloaded[key], value.half().float()), (name, key)


def test_an_unknown_family_in_our_format_is_refused(model: MotionModel, tmp_path: Path) -> None:
    payload = checkpoint_payload(model)
    payload["family"] = "no-such-family"
    path = saved(payload, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="unknown model family 'no-such-family'"):
        load_checkpoint(path)


def test_a_file_that_holds_no_mapping_is_refused(tmp_path: Path) -> None:
    path = saved([torch.zeros(2)], tmp_path / "list.pt")  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="not a model checkpoint: it holds a list"):
        read_checkpoint_file(path)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_checkpoint_file(tmp_path / "missing.pt")
