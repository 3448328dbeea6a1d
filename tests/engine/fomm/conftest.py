"""Fixtures for the engine tests: the reference tensors in ../shared/fomm-reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from animatecli.engine.fomm import FommModel, ModelConfig

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "fomm-reference"


def reference_file(name: str) -> Path:
    """Path of a reference fixture; a missing fixture fails the test loudly (no skip)."""
    path = REFERENCE_DIR / name
    if not path.exists():
        pytest.fail(f"reference fixture missing: {path} (CI must provide ../shared)")
    return path


def golden_model(golden: dict[str, Any]) -> FommModel:
    config = ModelConfig.from_model_params(golden["config"], golden["frame_shape"][:2])
    model = FommModel(config).eval()
    model.kp_detector.load_state_dict(golden["checkpoint"]["kp_detector"])
    model.generator.load_state_dict(golden["checkpoint"]["generator"])
    return model


@pytest.fixture(scope="session", params=["golden-tiny.pt", "golden-tiny-nojac.pt"])
def golden(request: pytest.FixtureRequest) -> dict[str, Any]:
    return torch.load(reference_file(request.param), weights_only=True)
