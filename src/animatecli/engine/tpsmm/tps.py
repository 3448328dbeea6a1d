"""Thin-plate spline transforms (TPSMM spec §1.9): solve one per group of five
keypoints, evaluate them on a grid. Pure functions, float32, batched over every system."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Added to the whole diagonal of the 8×8 system, affine block included (spec §12.2).
REGULARISER = 0.01
CONTROL_POINTS = 5


def radial_kernel(squared_distance: torch.Tensor) -> torch.Tensor:
    """``U(q) = q·ln(q + 1e-9)`` on squared distances (``U(0) = 0``)."""
    return squared_distance * torch.log(squared_distance + 1e-9)


@dataclass
class ThinPlateSplines:
    """``B×T`` solved transforms from driving to source coordinates.

    ``theta``: ``B×T×2×3`` affine part (columns x, y, offset); ``control_points``:
    ``B×T×5×2`` driving keypoints; ``control_params``: ``B×T×5×2`` radial weights.
    """

    theta: torch.Tensor
    control_points: torch.Tensor
    control_params: torch.Tensor

    @classmethod
    def solve(cls, driving: torch.Tensor, source: torch.Tensor) -> ThinPlateSplines:
        """Splines mapping each group of five ``driving`` keypoints (``B×N×2``, N = 5T)
        near its five ``source`` keypoints (``B×N×2``, or batch 1 shared)."""
        batch = driving.shape[0]
        control = driving.reshape(batch, -1, CONTROL_POINTS, 2)
        targets = source.reshape(source.shape[0], -1, CONTROL_POINTS, 2).expand_as(control)
        num_tps = control.shape[1]
        # The norm first, then squared (not the sum of squares): spec §12.4.
        distances = torch.linalg.vector_norm(control[:, :, :, None] - control[:, :, None], dim=-1)
        kernel = radial_kernel(distances**2)
        ones = control.new_ones(batch, num_tps, CONTROL_POINTS, 1)
        affine = torch.cat([control, ones], dim=-1)  # B×T×5×3
        top = torch.cat([kernel, affine], dim=-1)
        bottom = torch.cat([affine.transpose(-1, -2), control.new_zeros(batch, num_tps, 3, 3)], -1)
        system = torch.cat([top, bottom], dim=-2)
        system = system + REGULARISER * torch.eye(8, dtype=system.dtype, device=system.device)
        rhs = torch.cat([targets, control.new_zeros(batch, num_tps, 3, 2)], dim=-2)
        # An explicit inverse times the right-hand side, as the original (spec §12.5).
        coefficients = torch.matmul(torch.inverse(system), rhs)  # B×T×8×2
        theta = coefficients[:, :, CONTROL_POINTS:].transpose(-1, -2)  # B×T×2×3
        return cls(theta, control, coefficients[:, :, :CONTROL_POINTS])

    def transform_grid(self, grid: torch.Tensor) -> torch.Tensor:
        """Evaluate every spline at the points of an ``h×w×2`` grid → ``B×T×h×w×2``."""
        h, w = grid.shape[:2]
        points = grid.reshape(1, 1, h * w, 2)
        linear = self.theta[..., :2]
        offset = self.theta[..., 2]
        affine = torch.matmul(linear, points.transpose(-1, -2)) + offset.unsqueeze(-1)
        differences = points.unsqueeze(-2) - self.control_points.unsqueeze(-3)  # B×T×P×5×2
        radial = radial_kernel((differences**2).sum(-1))
        warped = affine.transpose(-1, -2) + torch.matmul(radial, self.control_params)
        return warped.reshape(*warped.shape[:2], h, w, 2)
