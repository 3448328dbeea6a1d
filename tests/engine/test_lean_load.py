"""Loading only what inference needs: a released file's discriminator and optimizer
states are never read, in torch's zip format and in the legacy one the official FOMM
files use, and the safe path stays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from animatecli.engine import MotionModel, load_checkpoint
from animatecli.engine.fomm import build_model, official_config
from animatecli.engine.lean_load import LazyCheckpoint, load_selected, read_lazily
from animatecli.engine.training_layout import full_official_container
from animatecli.errors import CheckpointError

from .test_checkpoint_memory import _Exploit, small_models

SRC = Path(__file__).resolve().parents[2] / "src"
FORMATS = {"zip": True, "legacy": False}


def save(container: Any, path: Path, form: str) -> Path:
    torch.save(container, path, _use_new_zipfile_serialization=FORMATS[form])
    return path


def bytes_of(tree: Any) -> int:
    if isinstance(tree, torch.Tensor):
        return tree.untyped_storage().nbytes()
    if isinstance(tree, dict):
        return sum(bytes_of(v) for v in tree.values())
    if isinstance(tree, list | tuple):
        return sum(bytes_of(v) for v in tree)
    return 0


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("family", ["fomm", "tpsmm"])
def test_full_training_layout_loads_reading_only_the_networks(
    family: str, form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model: MotionModel = small_models()[family]
    container = full_official_container(model)
    path = save(container, tmp_path / "checkpoint.pth.tar", form)
    read_bytes: list[int] = []
    real_storage = LazyCheckpoint._storage

    def counting_storage(self: LazyCheckpoint, handle: Any, meta: Any) -> Any:
        storage = real_storage(self, handle, meta)
        read_bytes.append(storage.nbytes())
        return storage

    monkeypatch.setattr(LazyCheckpoint, "_storage", counting_storage)
    loaded = load_checkpoint(path)
    parts = loaded.model.checkpoint_parts()
    for part, module in parts.items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, container[part][key]), f"{part}.{key}"
    needed = sum(bytes_of(container[part]) for part in parts)
    everything = bytes_of(container)
    assert sum(read_bytes) == needed
    assert everything > 2 * needed  # the training state was there, twice the networks


@pytest.mark.parametrize("form", FORMATS)
def test_tensors_sharing_a_storage_share_it_after_loading(form: str, tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32)
    container = {
        "whole": base.view(4, 6),
        "tail": base[6:].view(3, 6)[:, 1::2],  # an offset, strided view of the same storage
        "ints": torch.tensor([3, 1, 2]),
        "skipped": {"moment": torch.ones(1000)},
        "epoch": 7,
    }
    path = save(container, tmp_path / "shared.pt", form)
    loaded = load_selected(path, ["whole", "tail", "ints"])
    for key in ("whole", "tail", "ints"):
        assert torch.equal(loaded[key], container[key])
        assert loaded[key].stride() == container[key].stride()
    assert (
        loaded["whole"].untyped_storage().data_ptr() == loaded["tail"].untyped_storage().data_ptr()
    )
    assert loaded["skipped"]["moment"].device.type == "meta"  # never read
    assert loaded["epoch"] == 7


def test_legacy_file_with_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = save({"kp_detector": {}, "generator": _Exploit()}, tmp_path / "evil.pth.tar", "legacy")
    with pytest.raises(CheckpointError, match=r"imports (posix|os)\.system, which could run code"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


@pytest.mark.parametrize("form", FORMATS)
def test_truncated_file_is_a_checkpoint_error(form: str, tmp_path: Path) -> None:
    container = full_official_container(small_models()["fomm"])
    path = save(container, tmp_path / "whole.pth.tar", form)
    data = path.read_bytes()
    cut = tmp_path / "cut.pth.tar"
    cut.write_bytes(data[: len(data) // 5])  # the networks' storages come first or last
    with pytest.raises(CheckpointError, match="cannot load"):
        load_checkpoint(cut)


def test_meta_container_reads_no_tensor_data(tmp_path: Path) -> None:
    path = save({"a": torch.ones(3)}, tmp_path / "a.pt", "legacy")
    lazy = read_lazily(path)
    assert lazy.container["a"].device.type == "meta"
    assert lazy.container["a"].shape == (3,)


# Loads a checkpoint in a fresh interpreter: its peak RSS over the imports' (VmHWM).
_PROBE = """
import json, re, sys
from animatecli.engine import load_checkpoint
def peak():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status)[1]) * 1024
before = peak()
load_checkpoint(sys.argv[1])
print(json.dumps({"grown": peak() - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("form", FORMATS)
def test_loading_a_full_vox_file_never_holds_its_training_state(form: str, tmp_path: Path) -> None:
    model = build_model(official_config("vox-256"), initialise=False)
    for tensor in model.state_dict().values():
        tensor.zero_()  # unfilled memory may hold NaN patterns, which loading refuses
    path = save(full_official_container(model), tmp_path / "vox-cpk.pth.tar", form)
    weights = sum(t.nbytes for t in model.state_dict().values())
    del model
    assert path.stat().st_size > 3 * weights  # as the released 729 MB file against 230 MB
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "PATH": ""},
    )
    grown = json.loads(result.stdout)["grown"]
    # One copy of the networks plus bookkeeping; reading the whole file held 3.2×.
    assert grown < 1.15 * weights, grown / weights
