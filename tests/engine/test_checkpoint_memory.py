"""Loading a checkpoint holds one copy of the weights: the parameters are the tensors read
from the file, the networks are built without random fills, and the safe path stays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from animatecli.engine import MotionModel, load_checkpoint, official_container
from animatecli.engine.blocks import AntiAliasDownsample
from animatecli.engine.building import uninitialised
from animatecli.engine.fomm import FommModel, build_model, official_config
from animatecli.engine.lean_load import LazyCheckpoint
from animatecli.errors import CheckpointError

from .fomm.test_checkpoint import tiny_config
from .references import build_golden_model, load_golden

SRC = Path(__file__).resolve().parents[2] / "src"


def small_models() -> dict[str, MotionModel]:
    tpsmm = build_golden_model(load_golden("tpsmm", "golden-tiny.pt"))
    return {"fomm": FommModel(tiny_config()).eval(), "tpsmm": tpsmm}


@pytest.mark.parametrize("family", ["fomm", "tpsmm"])
def test_parameters_are_the_tensors_read_from_the_file(
    family: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = small_models()[family]
    path = tmp_path / "official.pth.tar"
    container = official_container(model)
    container["optimizer"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    torch.save(container, path)
    read: dict[str, Any] = {}
    real_materialise = LazyCheckpoint.materialise

    def spying_materialise(self: LazyCheckpoint, tree: Any) -> Any:
        result = real_materialise(self, tree)
        for name, entry in self.container.items():
            if entry is tree:
                read[name] = result
        return result

    monkeypatch.setattr(LazyCheckpoint, "materialise", spying_materialise)
    loaded = load_checkpoint(path)
    assert set(read) == set(loaded.model.checkpoint_parts())  # nothing else was read
    for part, module in loaded.model.checkpoint_parts().items():
        for key, value in module.state_dict().items():
            from_file = read[part][key]
            assert value.data_ptr() == from_file.data_ptr(), f"{part}.{key} is a copy"
            assert torch.equal(value, container[part][key])


def test_uninitialised_build_draws_no_random_numbers_but_computes_buffers() -> None:
    config = official_config("vox-256")
    rng = torch.get_rng_state()
    with uninitialised():
        unfilled = build_model(config, initialise=False)
        layer = nn.Conv2d(3, 8, 3)
    # No fill ran: the generator's state is where it was (random fills advance it).
    assert torch.equal(torch.get_rng_state(), rng)
    assert layer.weight.shape == (8, 3, 3, 3)
    # What constructors compute themselves is there, as in a normal build.
    expected = AntiAliasDownsample(3, 0.25).weight
    assert unfilled.kp_detector.down is not None
    assert torch.equal(unfilled.kp_detector.down.weight, expected)
    # Outside the context, layers are initialised again.
    nn.Conv2d(3, 8, 3)
    assert not torch.equal(torch.get_rng_state(), rng)


class _Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        import os

        return (os.system, ("touch pwned-by-checkpoint",))


def test_zip_file_with_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth.tar"
    torch.save({"kp_detector": {}, "generator": _Exploit()}, path)  # torch's zip format
    with pytest.raises(CheckpointError, match=r"imports (posix|os)\.system, which could run code"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


# Loads a checkpoint in a fresh interpreter: its peak RSS over the imports' (VmHWM is
# this process's own high-water mark) and whether torch._dynamo got imported.
_PROBE = """
import json, re, sys
from animatecli.engine import load_checkpoint
def peak():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status)[1]) * 1024
before = peak()
load_checkpoint(sys.argv[1])
print(json.dumps({"grown": peak() - before, "dynamo": "torch._dynamo" in sys.modules}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_loading_a_vox_file_holds_one_copy_of_the_weights(tmp_path: Path) -> None:
    path = tmp_path / "vox-cpk.pth.tar"
    model = build_model(official_config("vox-256"), initialise=False)
    for tensor in model.state_dict().values():
        tensor.zero_()  # unfilled memory may hold NaN patterns, which loading refuses
    torch.save(official_container(model), path)
    weights = sum(t.nbytes for t in model.state_dict().values())
    del model
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "PATH": ""},
    )
    probe = json.loads(result.stdout)
    # One copy (228 MiB) plus bookkeeping; randomly filled networks next to the file's
    # tensors made it two, and building on the meta device imported torch._dynamo.
    assert probe["grown"] < 1.25 * weights, probe["grown"] / weights
    assert not probe["dynamo"]
