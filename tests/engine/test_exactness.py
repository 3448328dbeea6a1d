"""The inference rewrites against float64: the default CPU path is no further from a
float64 run of the same weights than the plain float32 run the original computes, on
single layers and on both families' reference fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from animatecli.engine.winograd import F2, F4, LAVIN, TileScheme, WinogradConv3x3, toom_cook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import exactness


@pytest.mark.parametrize("scheme", [F2, F4, LAVIN], ids=lambda scheme: scheme.name)
def test_toom_cook_transforms_compute_the_correlation(scheme: TileScheme) -> None:
    output_t, kernel, input_t = toom_cook(scheme.points, scheme.outputs)
    torch.manual_seed(0)
    tiles = torch.randn(scheme.tile, 50, dtype=torch.float64)
    taps = torch.randn(3, dtype=torch.float64)
    actual = output_t @ ((kernel @ taps)[:, None] * (input_t @ tiles))
    expected = torch.stack([tiles[k : k + 3].T @ taps for k in range(scheme.outputs)])
    assert torch.allclose(actual, expected, atol=1e-12)


def _layer_errors(channels: int = 128) -> dict[str, tuple[float, float]]:
    """(max, mean) absolute error against float64 of one 3×3 layer at 64², by method."""
    torch.manual_seed(0)
    conv = nn.Conv2d(channels, channels, 3, padding=1)
    x = torch.randn(1, channels, 64, 64, dtype=torch.float64).relu()
    truth = F.conv2d(x, conv.weight.double(), conv.bias.double(), padding=1)
    x32 = x.float().contiguous(memory_format=torch.channels_last)
    weight = conv.weight.detach().contiguous(memory_format=torch.channels_last)
    results = {"direct": F.conv2d(x32, weight, conv.bias.detach(), padding=1)}
    with torch.inference_mode():
        for scheme in (F2, F4, LAVIN):
            results[scheme.name] = WinogradConv3x3(conv, scheme)(x32)
    errors = {}
    for name, result in results.items():
        error = (result.double() - truth).abs()
        errors[name] = (error.max().item(), error.mean().item())
    return errors


def test_the_winograd_points_decide_its_rounding() -> None:
    errors = _layer_errors()
    direct, small = errors["direct"], errors[F2.name]
    assert small[0] <= direct[0] and small[1] <= direct[1], errors  # F(2×2): under direct
    # The default F(4×4)'s points round less than the common ones (TOMS 2020).
    assert errors[F4.name][0] < 0.6 * errors[LAVIN.name][0], errors


@pytest.mark.parametrize("family", ["fomm", "tpsmm"])
def test_default_path_is_as_exact_as_the_original_float32_run(family: str) -> None:
    """On the reference fixture (calibrated batch norms; every eligible convolution by
    Winograd), in every mode: the default path's error against float64, max and mean, no
    larger than the plain float32 run's (FOMM's by its rewrites' smaller rounding,
    TPSMM's by its float64 keypoint detector)."""
    model, source, driving = exactness.golden_case(family)
    chosen = {
        name: variant
        for name, variant in exactness.variants(1).items()
        if name.startswith(("float32, no rewrite", "default CPU path"))
    }
    for mode in model.modes:
        with exactness.winograd_everywhere():
            original, default = exactness.measure(model, source, driving, mode, chosen)
        assert default.max_levels <= original.max_levels, (mode, default, original)
        assert default.mean_levels <= original.mean_levels, (mode, default, original)
