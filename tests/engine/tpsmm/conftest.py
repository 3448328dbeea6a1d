"""The TPSMM reference tensors (see ../shared/tpsmm-reference)."""

from __future__ import annotations

import pytest

from ..references import Golden, load_golden


@pytest.fixture(scope="session")
def golden() -> Golden:
    return load_golden("tpsmm", "golden-tiny.pt")
