"""Fixtures for the serve tests (helpers live in serve_testutil.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .serve_testutil import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with default settings, shared by the tests that leave it as they found it."""
    process = ServerProcess(tmp_path_factory.mktemp("serve"))
    yield process
    process.close()
