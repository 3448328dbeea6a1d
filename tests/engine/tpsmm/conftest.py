"""Fixtures for the TPSMM tests: the reference tensors in ../shared/tpsmm-reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from animatecli.engine.tpsmm import TpsmmConfig, TpsmmModel

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "tpsmm-reference"


def reference_file(name: str) -> Path:
    """Path of a reference fixture; a missing fixture fails the test loudly (no skip)."""
    path = REFERENCE_DIR / name
    if not path.exists():
        pytest.fail(f"reference fixture missing: {path} (CI must provide ../shared)")
    return path


def golden_model(golden: dict[str, Any]) -> TpsmmModel:
    """The reference's narrow model with its weights (AVD included)."""
    config = TpsmmConfig.from_model_params(golden["config"], golden["frame_shape"][:2])
    model = TpsmmModel(config, with_avd=True).eval()
    for part, state in golden["checkpoint"].items():
        getattr(model, part).load_state_dict(state)
    return model


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    return torch.load(reference_file("golden-tiny.pt"), weights_only=True)
