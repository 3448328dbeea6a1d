"""FOMM checkpoints (every official config against its manifest is in
test_family_contract.py): formats, config inference, strict loading, safety."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from animatecli.engine import load_checkpoint, official_container
from animatecli.engine.fomm import (
    OFFICIAL_CONFIGS,
    FommModel,
    ModelConfig,
    build_model,
    official_config,
)
from animatecli.engine.fomm.config import (
    DenseMotionConfig,
    GeneratorConfig,
    KeypointDetectorConfig,
)
from animatecli.engine.fomm.family import matching_official_config
from animatecli.errors import CheckpointError
from animatecli.training.export import save_checkpoint


def random_full_size_vox(path: Path) -> FommModel:
    """A vox-256 model with random weights saved in the official training layout."""
    model = FommModel(official_config("vox-256")).eval()
    container = official_container(model)
    container["discriminator"] = {"down_blocks.0.conv.weight": torch.randn(32, 3, 4, 4)}
    container["optimizer_generator"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    container["optimizer_discriminator"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    container["optimizer_kp_detector"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    container["epoch"] = 99
    torch.save(container, path)
    return model


def test_official_vox_layout_loads_with_inferred_config(tmp_path: Path) -> None:
    # Its load time is in `make bench`, not asserted here: a busy machine makes a
    # wall-clock bound flaky.
    path = tmp_path / "vox-cpk.pth.tar"
    original = random_full_size_vox(path)
    loaded = load_checkpoint(path)
    assert loaded.kind == "official"
    assert loaded.config_source == "inferred"
    assert loaded.config_name == "vox-256"
    assert loaded.config == official_config("vox-256")
    assert not loaded.model.training
    for key, value in original.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("vox-cpk.pth.tar", "vox-256"),
        ("taichi-cpk.pth.tar", "taichi-256"),
        ("nemo-cpk.pth.tar", "nemo-256"),
        ("fashion.pth.tar", "fashion-256"),
        ("my-model.pth.tar", "vox-256"),  # a renamed file: shapes alone cannot tell
    ],
)
def test_released_file_name_tells_same_shaped_configs_apart(file_name: str, expected: str) -> None:
    assert matching_official_config(official_config("vox-256"), file_name) == expected


def tiny_config(single_jacobian_map: bool = False) -> ModelConfig:
    return ModelConfig(
        num_kp=5,
        kp_detector=KeypointDetectorConfig(
            block_expansion=8,
            max_features=32,
            num_blocks=3,
            single_jacobian_map=single_jacobian_map,
        ),
        generator=GeneratorConfig(
            block_expansion=8,
            max_features=32,
            num_down_blocks=2,
            num_bottleneck_blocks=2,
            dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3),
        ),
        frame_shape=(64, 64),
    )


@pytest.mark.parametrize("single", [False, True])
def test_config_inferred_from_tensors(tmp_path: Path, single: bool) -> None:
    config = tiny_config(single)
    path = tmp_path / "tiny.pth"
    torch.save(official_container(FommModel(config)), path)
    loaded = load_checkpoint(path)
    inferred = loaded.config
    # Everything but the frame shape (not recoverable from tensors) round-trips.
    assert inferred.kp_detector == config.kp_detector
    assert inferred.generator == config.generator
    assert inferred.num_kp == 5
    assert loaded.config_name is None


def test_mgif_inferred_as_single_jacobian(tmp_path: Path) -> None:
    path = tmp_path / "mgif.pth.tar"
    model = build_model(official_config("mgif-256"))
    torch.save(official_container(model), path)
    loaded = load_checkpoint(path)
    assert loaded.config_name == "mgif-256"
    assert loaded.config.kp_detector.single_jacobian_map


def test_own_format_round_trip_with_metadata(tmp_path: Path) -> None:
    config = tiny_config()
    model = FommModel(config).eval()
    path = tmp_path / "ours.pt"
    save_checkpoint(path, model, {"steps": 10, "eval": {"l1": 0.1}}, half=True)
    loaded = load_checkpoint(path)
    assert loaded.kind == "animatecli"
    assert loaded.config_source == "file"
    assert loaded.config == config
    assert loaded.metadata == {"steps": 10, "eval": {"l1": 0.1}}
    for key, value in model.state_dict().items():
        got = loaded.model.state_dict()[key]
        assert got.dtype == value.dtype
        assert torch.allclose(got.float(), value.float(), atol=1e-2, rtol=1e-3), key


def test_warp_convention_travels_with_our_format(tmp_path: Path) -> None:
    path = tmp_path / "ours.pt"
    save_checkpoint(path, FommModel(tiny_config(), align_corners=True).eval())
    loaded = load_checkpoint(path)
    assert loaded.align_corners is True
    assert loaded.model.generator.align_corners is True
    assert loaded.model.generator.dense_motion_network.align_corners is True
    assert loaded.describe()["align_corners"] is True
    # An explicit choice wins over the file's.
    assert load_checkpoint(path, align_corners=False).model.generator.align_corners is False


def test_official_files_default_to_the_reference_convention(tmp_path: Path) -> None:
    path = tmp_path / "official.pth.tar"
    torch.save(official_container(FommModel(tiny_config())), path)
    assert load_checkpoint(path).model.generator.align_corners is False
    assert load_checkpoint(path, align_corners=True).model.generator.align_corners is True


def test_data_parallel_prefix_is_tolerated(tmp_path: Path) -> None:
    model = FommModel(tiny_config())
    container = {
        part: {f"module.{k}": v for k, v in sd.items()}
        for part, sd in official_container(model).items()
    }
    path = tmp_path / "dp.pth"
    torch.save(container, path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.model.generator.final.weight, model.generator.final.weight)


def test_missing_batch_counters_are_tolerated(tmp_path: Path) -> None:
    container = official_container(FommModel(tiny_config()))
    container = {
        part: {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
        for part, sd in container.items()
    }
    path = tmp_path / "old.pth"
    torch.save(container, path)
    load_checkpoint(path)


def test_missing_and_unexpected_keys_are_named(tmp_path: Path) -> None:
    container = official_container(FommModel(tiny_config()))
    del container["generator"]["final.bias"]
    container["generator"]["extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(container, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, config=tiny_config())
    message = str(info.value)
    assert "final.bias" in message and "extra.weight" in message
    assert "likely cause" in message
    assert "\n" not in message


def test_wrong_config_override_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(official_container(FommModel(tiny_config())), path)
    with pytest.raises(CheckpointError, match="--config"):
        load_checkpoint(path, config="vox-256")


def test_unknown_config_name(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    torch.save(official_container(FommModel(tiny_config())), path)
    with pytest.raises(CheckpointError, match="unknown config"):
        load_checkpoint(path, config="vox-512")


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-checkpoint",))


def test_malicious_pickle_is_refused_and_nothing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth.tar"
    with path.open("wb") as handle:
        pickle.dump({"kp_detector": {}, "generator": _Exploit()}, handle)
    with pytest.raises(CheckpointError, match=r"imports (posix|os)\.system, which could run code"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"this is not a checkpoint", "not a PyTorch checkpoint"),
        (None, "not found"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "file.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "full.pth"
    torch.save(official_container(FommModel(tiny_config())), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_foreign_container_is_no_known_family(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="not a checkpoint of a known model family") as err:
        load_checkpoint(path)
    assert "FOMM: kp_detector, generator" in str(err.value)


def test_files_saved_before_families_load_as_fomm(tmp_path: Path) -> None:
    """Our format's version 1 recorded no family: such files are FOMM."""
    model = FommModel(tiny_config()).eval()
    path = tmp_path / "v1.pt"
    save_checkpoint(path, model)
    payload = torch.load(path, weights_only=True)
    assert payload["family"] == "fomm"
    del payload["family"]
    payload["version"] = 1
    torch.save(payload, path)
    loaded = load_checkpoint(path)
    assert loaded.family == "fomm"
    assert loaded.config == model.config


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="directory"):
        load_checkpoint(tmp_path)


def test_official_names_listed() -> None:
    assert set(OFFICIAL_CONFIGS) == {
        "vox-256",
        "vox-adv-256",
        "taichi-256",
        "taichi-adv-256",
        "nemo-256",
        "mgif-256",
        "bair-256",
        "fashion-256",
    }


def test_fomm_has_no_avd_mode(tmp_path: Path) -> None:
    from animatecli.engine import Animator, UnsupportedMode

    model = FommModel(tiny_config()).eval()
    with pytest.raises(UnsupportedMode, match="modes: relative, absolute"):
        Animator(model).session(torch.rand(3, 64, 64), mode="avd")
