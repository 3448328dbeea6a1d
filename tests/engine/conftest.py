"""Fixtures for the engine tests: the reference model builder, reference paths, and the
test-only third family registered for a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from animatecli.engine import Family, registry

from .references import GoldenModel, build_golden_model, reference_path
from .shift_family import SHIFT


@pytest.fixture
def golden_model() -> GoldenModel:
    """Builds a fresh reference model (the Animator takes a model over in place)."""
    return build_golden_model


@pytest.fixture
def reference_file() -> Callable[[str, str], Path]:
    """``reference_file(family, name)``: a reference fixture's path (fails when missing)."""
    return reference_path


@pytest.fixture
def shift_family(monkeypatch: pytest.MonkeyPatch) -> Iterator[Family]:
    """The test-only third family, listed in the registry for one test."""
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, SHIFT))
    yield SHIFT
