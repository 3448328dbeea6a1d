"""Fixtures for the faces tests (helpers live in faces_testutil.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

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


@pytest.fixture(scope="session")
def lbp() -> LbpCascadeBackend:
    """One offline detector shared by all tests (it is stateless between calls)."""
    return LbpCascadeBackend()
