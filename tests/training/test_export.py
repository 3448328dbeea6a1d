"""Writing a model in our format (animatecli.training.export.save_checkpoint): atomic,
0644, loadable."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from testutil import tiny_model_config

from animatecli.engine import load_checkpoint
from animatecli.engine.fomm import FommModel
from animatecli.errors import OutputError
from animatecli.training import export
from animatecli.training.export import save_checkpoint


@pytest.fixture
def model() -> FommModel:
    torch.manual_seed(0)
    return FommModel(tiny_model_config()).eval()


@pytest.fixture
def umask_077() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_077")
def test_the_file_is_readable_by_all_and_its_folder_is_made(
    model: FommModel, tmp_path: Path
) -> None:
    path = tmp_path / "runs" / "one" / "model.pt"
    save_checkpoint(path, model, {"purpose": "tests"}, half=True)
    # A model file is not a secret: 0644 even under a private umask.
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["model.pt"]
    loaded = load_checkpoint(path)
    assert loaded.metadata == {"purpose": "tests"} and loaded.config == model.config


def test_a_failed_save_keeps_the_old_file_and_leaves_nothing(
    model: FommModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"version": "old"})
    before = path.read_bytes()

    def disk_full(payload: Any, file: Path) -> None:
        Path(file).write_bytes(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.torch, "save", disk_full)
    with pytest.raises(OutputError, match=f"cannot write {path}: No space left on device"):
        save_checkpoint(path, model, {"version": "new"})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]
