"""Engine helpers: the grid convention, field resizing and the anti-alias blur."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from animatecli.engine.blocks import AntiAliasDownsample, coordinate_grid, resize_field, warp


def test_identity_field_resized_under_align_corners_stays_exact() -> None:
    small = coordinate_grid(16, 16, like=torch.zeros(1)).unsqueeze(0)
    resized = resize_field(small, 32, 32, align_corners=True)
    expected = coordinate_grid(32, 32, like=torch.zeros(1)).unsqueeze(0)
    assert torch.allclose(resized, expected, atol=1e-6)

    image = torch.rand(1, 3, 32, 32)
    assert torch.allclose(warp(image, resized, align_corners=True), image, atol=1e-5)


def test_official_resize_keeps_its_half_pixel_behaviour() -> None:
    # The official code resizes with align_corners=False: the identity comes out slightly
    # zoomed, and the reference numbers depend on reproducing exactly that.
    small = coordinate_grid(16, 16, like=torch.zeros(1)).unsqueeze(0)
    resized = resize_field(small, 32, 32)
    expected = coordinate_grid(32, 32, like=torch.zeros(1)).unsqueeze(0)
    error = (resized - expected).abs().amax()
    assert 1e-3 < float(error) < 0.1


@pytest.mark.parametrize("scale", [0.5, 0.25, 0.125])
@pytest.mark.parametrize("size", [(32, 32), (29, 40)])
def test_separable_antialias_equals_the_dense_blur_then_subsampling(
    scale: float, size: tuple[int, int]
) -> None:
    down = AntiAliasDownsample(3, scale)
    image = torch.rand(2, 3, *size)
    # The textbook form: the full 2-D kernel, zero padding, then every step-th pixel.
    padded = F.pad(image, (down.pad,) * 4)
    dense = F.conv2d(padded, down.weight, groups=3)[:, :, :: down.step, :: down.step]
    fast = down(image)
    assert fast.shape == dense.shape
    assert torch.allclose(fast, dense, atol=1e-6)
