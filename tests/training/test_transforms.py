"""Random smooth warps for the equivariance losses (animatecli.training.transforms): the
Jacobian, the pure affine case, and frames warped the way the coordinates are."""

from __future__ import annotations

import torch

from animatecli.engine.blocks import coordinate_grid
from animatecli.training.transforms import RandomTps


def test_equivariance_transform_jacobian_matches_finite_differences() -> None:
    transform = RandomTps(2, sigma_affine=0.1, sigma_tps=0.05, generator=torch.Generator())
    points = torch.rand(2, 5, 2, dtype=torch.float64) * 1.6 - 0.8
    jacobian = transform.jacobian(points)
    eps = 1e-6
    for axis in range(2):
        step = torch.zeros_like(points)
        step[..., axis] = eps
        numeric = (
            transform.warp_coordinates(points + step) - transform.warp_coordinates(points - step)
        ) / (2 * eps)
        assert torch.allclose(jacobian[..., :, axis], numeric, atol=1e-6)


def test_without_noise_the_warp_is_the_identity() -> None:
    transform = RandomTps(3, sigma_affine=0.0, sigma_tps=0.0)
    points = torch.rand(3, 7, 2) * 2 - 1
    assert torch.allclose(transform.warp_coordinates(points), points, atol=1e-6)
    eye = torch.eye(2).expand(3, 7, 2, 2)
    assert torch.allclose(transform.jacobian(points), eye, atol=1e-6)
    frames = torch.rand(3, 3, 16, 20)
    assert torch.allclose(transform.transform_frames(frames), frames, atol=1e-5)


def test_a_pure_affine_warp_has_its_matrix_as_jacobian_everywhere() -> None:
    transform = RandomTps(
        2, sigma_affine=0.2, sigma_tps=0.0, generator=torch.Generator().manual_seed(1)
    )
    points = torch.rand(2, 9, 2, dtype=torch.float64) * 2 - 1
    theta = transform.theta.double()
    expected = points @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]
    assert torch.allclose(transform.warp_coordinates(points), expected, atol=1e-12)
    jacobian = transform.jacobian(points)
    assert torch.allclose(jacobian, theta[:, None, :, :2].expand(2, 9, 2, 2), atol=1e-12)


def test_the_same_generator_seed_gives_the_same_warp() -> None:
    first = RandomTps(2, generator=torch.Generator().manual_seed(7))
    again = RandomTps(2, generator=torch.Generator().manual_seed(7))
    other = RandomTps(2, generator=torch.Generator().manual_seed(8))
    points = torch.rand(2, 4, 2)
    assert torch.equal(first.warp_coordinates(points), again.warp_coordinates(points))
    assert not torch.equal(first.warp_coordinates(points), other.warp_coordinates(points))


def test_a_warped_frame_samples_the_input_at_the_warped_coordinates() -> None:
    # The input frame is its own x and y coordinate, so the warped frame must read T(z)
    # wherever T(z) stays inside the frame (bilinear sampling of a linear ramp is exact).
    height, width = 24, 32
    transform = RandomTps(
        2, sigma_affine=0.05, sigma_tps=0.005, generator=torch.Generator().manual_seed(3)
    )
    grid = coordinate_grid(height, width, like=torch.zeros(1, dtype=torch.float64))
    ramps = grid.permute(2, 0, 1).unsqueeze(0).expand(2, -1, -1, -1).float()
    warped = transform.transform_frames(ramps)
    expected = transform.warp_coordinates(grid.view(1, -1, 2).expand(2, -1, -1).float())
    expected = expected.view(2, height, width, 2).permute(0, 3, 1, 2)
    inside = (expected.abs() <= 1).all(dim=1, keepdim=True).expand_as(expected)
    assert inside.float().mean() > 0.8
    assert torch.allclose(warped[inside], expected[inside], atol=1e-5)
