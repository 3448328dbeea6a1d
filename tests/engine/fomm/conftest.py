"""The FOMM reference tensors: the tiny golden model with and without its Jacobian head
through the dense motion (see ../shared/fomm-reference)."""

from __future__ import annotations

import pytest

from ..references import Golden, load_golden


@pytest.fixture(scope="session", params=["golden-tiny.pt", "golden-tiny-nojac.pt"])
def golden(request: pytest.FixtureRequest) -> Golden:
    return load_golden("fomm", request.param)
