"""What a rejected checkpoint file is: named from its bytes, never by unpickling it."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from animatecli.engine import load_checkpoint
from animatecli.engine.safe_load import describe_unloadable
from animatecli.errors import CheckpointError


class _RunsCommand:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def _torch_zip_with_exploit(path: Path) -> None:
    torch.save({"generator": _RunsCommand()}, path)


def _legacy_pickle_with_exploit(path: Path) -> None:
    with path.open("wb") as handle:
        pickle.dump({"generator": _RunsCommand()}, handle)


def _truncated_torch_zip(path: Path) -> None:
    torch.save({"generator": {"w": torch.zeros(64, 64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


CASES = {
    "random bytes": (
        lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)),
        "not a PyTorch checkpoint",
    ),
    "html download page": (
        lambda p: p.write_text("\n  <!DOCTYPE html><html><body>Sign in</body></html>"),
        "an HTML page, probably a failed download",
    ),
    "text": (lambda p: p.write_text("model weights go here\n"), "it is a text file"),
    "empty": (lambda p: p.write_bytes(b""), "an empty file"),
    "gzip": (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00" + bytes(64)), "gzip-compressed"),
    "zip exploit": (_torch_zip_with_exploit, r"imports (posix|os)\.system, which could run code"),
    "legacy exploit": (
        _legacy_pickle_with_exploit,
        r"imports (posix|os)\.system, which could run code",
    ),
    "truncated": (_truncated_torch_zip, "damaged or truncated"),
}


@pytest.mark.parametrize("case", CASES)
def test_rejected_file_is_named_and_nothing_runs(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write, expected = CASES[case]
    path = tmp_path / "vox-cpk.pth.tar"
    write(path)
    assert re.search(expected, describe_unloadable(path))
    with pytest.raises(CheckpointError, match=expected) as raised:
        load_checkpoint(path)
    assert str(path) in str(raised.value)
    assert not (tmp_path / "pwned-by-checkpoint").exists()
