"""Fixtures for the faces tests (helpers live in faces_testutil.py)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from animatecli.faces import LbpCascadeBackend


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any attempt to open a network connection fail loudly inside the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted in a faces test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


@pytest.fixture
def empty_torch_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the torch hub directory at an empty temporary folder; returns its checkpoints dir.

    Sets the environment (what an un-imported torch would read) and, when torch is already
    imported by another test, its ``set_dir`` override too.
    """
    hub = tmp_path / "torch_home" / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):
        monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    return hub / "checkpoints"


@pytest.fixture(scope="session")
def lbp() -> LbpCascadeBackend:
    """One offline detector shared by all tests (it is stateless between calls)."""
    return LbpCascadeBackend()
