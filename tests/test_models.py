"""Choosing the device and the checkpoint, and loading the model (animatecli.models). Catalogue
names as checkpoints are tested with the model store (tests/modelstore)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from animatecli import models
from animatecli.errors import CheckpointError, DeviceError, ExitCode
from animatecli.models import (
    CHECKPOINT_ENV,
    DEFAULT_CHECKPOINT_NAME,
    load_model,
    resolve_checkpoint,
    resolve_device,
)
from animatecli.options import ModelOptions

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")


def test_cpu_and_auto_resolve_to_devices_that_exist() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_is_one_line_and_exit_2(spec: str) -> None:
    with pytest.raises(DeviceError, match=f"device '{spec}' requested but CUDA is not available"):
        resolve_device(spec)


def test_devices_torch_knows_but_we_do_not_run_on_are_refused() -> None:
    with pytest.raises(DeviceError, match="unsupported device 'meta'") as raised:
        resolve_device("meta")
    assert raised.value.exit_code == ExitCode.USAGE
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        resolve_device("gpu")


def test_the_checkpoint_comes_from_the_option_then_the_environment_then_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = tmp_path / "mine.pt", tmp_path / "theirs.pt"
    monkeypatch.setenv(CHECKPOINT_ENV, str(theirs))
    assert resolve_checkpoint(mine) == (mine, "--checkpoint")  # need not exist yet
    assert resolve_checkpoint(None) == (theirs, f"${CHECKPOINT_ENV}")
    monkeypatch.setenv(CHECKPOINT_ENV, "")  # empty counts as unset
    path, origin = resolve_checkpoint(None)
    assert (path.name, origin) == (DEFAULT_CHECKPOINT_NAME, "bundled default")
    assert path.is_file()


def test_a_wheel_finds_the_bundle_it_carries_and_without_one_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    packaged = tmp_path / "package" / "checkpoints"
    packaged.mkdir(parents=True)
    monkeypatch.setattr(models, "CHECKPOINT_DIR", tmp_path / "no-source-checkout")
    monkeypatch.setattr(models, "PACKAGED_CHECKPOINT_DIR", packaged)
    with pytest.raises(CheckpointError, match="no model available") as raised:
        resolve_checkpoint(None)
    assert f"set {CHECKPOINT_ENV}" in str(raised.value)
    assert raised.value.exit_code == ExitCode.USAGE
    (packaged / DEFAULT_CHECKPOINT_NAME).write_bytes(b"weights")
    assert resolve_checkpoint(None) == (packaged / DEFAULT_CHECKPOINT_NAME, "bundled default")


@no_cuda
@pytest.mark.parametrize(
    ("values", "message"),
    [({"fp16": True}, "--fp16 needs a CUDA device"), ({"cuda_graphs": True}, "--cuda-graphs")],
)
def test_cuda_only_options_are_refused_on_the_cpu_before_loading(
    tmp_path: Path, values: dict[str, bool], message: str
) -> None:
    missing = tmp_path / "missing.pt"  # would fail differently if it were read
    with pytest.raises(DeviceError, match=message):
        load_model(ModelOptions(checkpoint=missing, device="cpu", **values))


def test_load_model_loads_the_chosen_checkpoint_on_the_chosen_device(
    tiny_checkpoint: Path,
) -> None:
    loaded, device, origin = load_model(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))
    assert (device, origin, loaded.kind) == (torch.device("cpu"), "--checkpoint", "animatecli")
    parameters = list(loaded.model.parameters())
    assert parameters and all(
        p.device.type == "cpu" and p.dtype == torch.float32 for p in parameters
    )
