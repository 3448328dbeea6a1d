"""Random smooth image transforms for FOMM's equivariance losses.

A transform is a random affine map plus a thin-plate-spline perturbation on a 5×5
control lattice, applied to normalised (x, y) coordinates. Frames are warped with it,
and keypoints detected on the warped frame are mapped back through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..engine.blocks import coordinate_grid


class RandomTps:
    """Per-batch-element random warps ``T``: ``B``×(affine + TPS)."""

    def __init__(
        self,
        batch: int,
        *,
        sigma_affine: float = 0.05,
        sigma_tps: float = 0.005,
        points_tps: int = 5,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ):
        noise = torch.randn(batch, 2, 3, generator=generator) * sigma_affine
        self.theta = (noise + torch.eye(2, 3)).to(device)
        lattice = coordinate_grid(points_tps, points_tps, like=torch.zeros(1))
        self.control_points = lattice.view(-1, 2).to(device)
        self.control_params = (
            torch.randn(batch, points_tps**2, generator=generator) * sigma_tps
        ).to(device)

    def warp_coordinates(self, coords: torch.Tensor) -> torch.Tensor:
        """Map ``B×N×2`` normalised points through ``T``."""
        theta = self.theta.to(coords.dtype)
        affine = torch.einsum("bij,bnj->bni", theta[:, :, :2], coords) + theta[:, None, :, 2]
        offsets = coords[:, :, None, :] - self.control_points[None, None].to(coords.dtype)
        dist = offsets.abs().sum(-1)  # L1 radial distance, as FOMM's TPS
        kernel = dist**2 * torch.log(dist + 1e-6)
        bump = (kernel * self.control_params[:, None, :].to(coords.dtype)).sum(-1)
        return affine + bump.unsqueeze(-1)

    def jacobian(self, coords: torch.Tensor) -> torch.Tensor:
        """``dT/dz`` at ``B×N×2`` points → ``B×N×2×2`` (rows: output x, y)."""
        with torch.enable_grad():
            z = coords.detach().requires_grad_(True) if not coords.requires_grad else coords
            warped = self.warp_coordinates(z)
            grad_x = torch.autograd.grad(warped[..., 0].sum(), z, create_graph=True)[0]
            grad_y = torch.autograd.grad(warped[..., 1].sum(), z, create_graph=True)[0]
        return torch.stack([grad_x, grad_y], dim=-2)

    def transform_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Warp ``B×C×H×W`` frames: output pixel ``z`` samples the input at ``T(z)``."""
        batch, _, h, w = frames.shape
        grid = coordinate_grid(h, w, like=frames).view(1, h * w, 2).expand(batch, -1, -1)
        field = self.warp_coordinates(grid).view(batch, h, w, 2)
        return F.grid_sample(frames, field, padding_mode="reflection", align_corners=True)
