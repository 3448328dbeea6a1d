"""Warp helpers: the grid convention and field resizing agree."""

from __future__ import annotations

import torch

from animatecli.engine.blocks import coordinate_grid, resize_field, warp


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
