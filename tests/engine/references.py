"""Each family's reference tensors (in ../shared/<family>-reference) and the reference
model built through the family's registry record (the fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Reference:
    """One golden file of a family and how to read it: the key of the keypoint coordinates
    in its keypoint entries (extras are under their declared names), where its relative
    mode's predictions are (scale adapted), and the fixture README's float32 tolerances."""

    family: str
    file: str
    points: str
    relative_prediction: tuple[str, ...]
    atol_kp: float
    atol_prediction: float

    @property
    def id(self) -> str:
        return f"{self.family}-{self.file.removesuffix('.pt')}"

    def load(self) -> Golden:
        return load_golden(self.family, self.file)

    def prediction(self, golden: Golden) -> torch.Tensor:
        entry: Any = golden
        for key in self.relative_prediction:
            entry = entry[key]
        return entry


FOMM_ATOL_KP, FOMM_ATOL_PREDICTION = 1e-4, 2e-3
TPSMM_ATOL_KP, TPSMM_ATOL_PREDICTION = 2e-5, 1e-2
FOMM_RELATIVE = ("outputs", "relative_adapt", "prediction")
TPSMM_RELATIVE = ("modes", "relative", "prediction")

# Every family's goldens (FOMM's two: with Jacobians through the dense motion, and the
# Jacobian-free dense motion).
REFERENCES = (
    Reference("fomm", "golden-tiny.pt", "value", FOMM_RELATIVE, FOMM_ATOL_KP, FOMM_ATOL_PREDICTION),
    Reference(
        "fomm", "golden-tiny-nojac.pt", "value", FOMM_RELATIVE, FOMM_ATOL_KP, FOMM_ATOL_PREDICTION
    ),
    Reference(
        "tpsmm", "golden-tiny.pt", "fg_kp", TPSMM_RELATIVE, TPSMM_ATOL_KP, TPSMM_ATOL_PREDICTION
    ),
)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float) -> None:
    """Same shape and a max absolute difference within ``atol``."""
    assert actual.shape == expected.shape
    diff = (actual.float() - expected.float()).abs().max().item()
    assert diff <= atol, f"max abs diff {diff:.3g} > {atol}"
