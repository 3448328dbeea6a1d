"""Motion transfer edge cases not covered by the goldens."""

from __future__ import annotations

import pytest
import torch

from animatecli.engine import Keypoints, movement_scale, normalize_keypoints
from animatecli.engine.fomm.keypoints import JACOBIAN, JACOBIAN_EXTRA
from animatecli.engine.motion import convex_hull_area


def test_hull_area_of_unit_square_with_interior_points() -> None:
    pts = torch.tensor([[0.0, 0.0], [1, 0], [1, 1], [0, 1], [0.5, 0.5], [0.2, 0.7]])
    assert convex_hull_area(pts) == pytest.approx(1.0)


def test_collinear_keypoints_do_not_crash() -> None:
    line = torch.stack([torch.linspace(-1, 1, 10), torch.linspace(-1, 1, 10)], dim=1)
    assert convex_hull_area(line) == 0.0
    kp_line = Keypoints(line[None], {"jacobian": torch.eye(2).expand(1, 10, 2, 2).clone()})
    kp_ok = Keypoints(
        torch.rand(1, 10, 2) * 2 - 1, {"jacobian": torch.eye(2).expand(1, 10, 2, 2).clone()}
    )
    assert movement_scale(kp_ok, kp_line) == 1.0
    result = normalize_keypoints(kp_ok, kp_ok, kp_line, adapt_movement_scale=True)
    assert torch.isfinite(result.value).all()


def test_absolute_mode_passes_driving_through() -> None:
    kp = Keypoints(torch.rand(3, 10, 2), {"jacobian": torch.rand(3, 10, 2, 2)})
    other = Keypoints(torch.rand(1, 10, 2), {"jacobian": torch.rand(1, 10, 2, 2)})
    assert normalize_keypoints(other, kp, other, relative=False) is kp


def test_relative_identity_when_driving_equals_initial() -> None:
    source = Keypoints(torch.rand(1, 10, 2), {JACOBIAN: torch.eye(2).expand(1, 10, 2, 2) * 1.5})
    initial = Keypoints(torch.rand(1, 10, 2), {JACOBIAN: torch.eye(2).expand(1, 10, 2, 2) * 0.5})
    result = normalize_keypoints(
        source, initial, initial, extras=(JACOBIAN_EXTRA,), adapt_movement_scale=True
    )
    assert torch.allclose(result.value, source.value, atol=1e-6)
    assert torch.allclose(result.extras[JACOBIAN], source.extras[JACOBIAN], atol=1e-6)
