"""Each family's reference tensors (in ../shared/<family>-reference) and the reference
model built through the family's registry record (the fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from animatecli.engine import Family, MotionModel, family_named

SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"

Golden = dict[str, Any]
GoldenModel = Callable[[Golden], MotionModel]


def reference_dir(family: str) -> Path:
    return SHARED_DIR / f"{family}-reference"


def reference_path(family: str, name: str) -> Path:
    """Path of a reference fixture; a missing fixture fails the test loudly (no skip)."""
    path = reference_dir(family) / name
    if not path.exists():
        pytest.fail(f"reference fixture missing: {path} (CI must provide ../shared)")
    return path


def load_golden(family: str, name: str) -> Golden:
    golden = torch.load(reference_path(family, name), weights_only=True)
    golden["family"] = family
    return golden


def build_golden_model(golden: Golden) -> MotionModel:
    """The reference's narrow model with its weights, every optional network included,
    built through its family's registry record."""
    family: Family = family_named(golden["family"])
    config = family.config_from_dict(
        {"model_params": golden["config"], "frame_shape": golden["frame_shape"]}
    )
    model = family.build(config, family.optional_parts).eval()
    parts = model.checkpoint_parts()
    for part, state in golden["checkpoint"].items():
        parts[part].load_state_dict(state)
    return model
