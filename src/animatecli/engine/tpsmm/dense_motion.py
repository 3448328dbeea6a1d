"""TPSMM dense motion network (spec §4): from two keypoint sets to a dense backward
field at ¼ resolution, the contribution of each transform and four occlusion maps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import (
    AntiAliasDownsample,
    Hourglass,
    UpBlock,
    coordinate_grid,
    float32_forward,
    instance_norm,
    keypoint_heatmaps,
    warp_by_each,
)
from ..keypoints import Keypoints
from .config import DenseMotionConfig
from .tps import ThinPlateSplines


@dataclass
class TpsDenseMotion:
    """Dense motion at the working resolution ``h×w`` (¼ of the frame).

    ``splines``: the solved TPS transforms; ``transformations``: ``B×(T+1)×h×w×2``
    (background first); ``deformed_source``: ``B×(T+1)×C×h×w``; ``contribution_maps``:
    ``B×(T+1)×h×w`` (softmax over entries); ``deformation``: ``B×h×w×2`` (x, y);
    ``occlusion_map``: coarsest first, ``B×1×·×·`` in (0, 1) at ⅛, ¼, ½ and 1 of the
    frame (one map at ``h×w`` without multi_mask).
    """

    splines: ThinPlateSplines
    transformations: torch.Tensor
    deformed_source: torch.Tensor
    contribution_maps: torch.Tensor
    deformation: torch.Tensor
    occlusion_map: list[torch.Tensor]


class DenseMotionNetwork(nn.Module):
    """Predicts where every driving-frame pixel comes from in the source image."""

    def __init__(
        self,
        num_tps: int,
        num_channels: int,
        multi_mask: bool,
        config: DenseMotionConfig,
        align_corners: bool = True,
    ):
        super().__init__()
        self.config = config
        self.num_tps = num_tps
        self.align_corners = align_corners
        # Registered first: the state dict's order is the official one.
        self.down = AntiAliasDownsample(num_channels, config.scale_factor)
        num_kp = 5 * num_tps
        self.hourglass = Hourglass(
            config.block_expansion,
            num_channels * (num_tps + 1) + num_kp + 1,
            config.num_blocks,
            config.max_features,
            instance_norm,
        )
        out = self.hourglass.out_features
        self.maps = nn.Conv2d(out, num_tps + 1, 7, padding=3)
        self.up = nn.ModuleList()
        heads = [out]
        if multi_mask:
            # One up block per halving of the frame (2 at ¼), widths halving; four heads:
            # the last two hourglass stages, then each up block.
            widths = [out]
            for _ in range(int(math.log2(1 / config.scale_factor))):
                widths.append(widths[-1] // 2)
                self.up.append(UpBlock(widths[-2], widths[-1], instance_norm))
            stages = self.hourglass.decoder.stage_features
            heads = [*stages[-(4 - len(self.up)) :], *widths[1:]]
        self.occlusion = nn.ModuleList(nn.Conv2d(c, 1, 7, padding=3) for c in heads)

    def downsample(self, source: torch.Tensor) -> torch.Tensor:
        """The source at working resolution (``B×C×h×w``); depends on the source only."""
        return self.down(source)

    def heatmap_representation(
        self, height: int, width: int, kp_driving: Keypoints, kp_source: Keypoints
    ) -> torch.Tensor:
        """Driving minus source Gaussians with a zero channel first: ``B×(N+1)×h×w``."""
        variance = self.config.kp_variance
        heatmap = keypoint_heatmaps(kp_driving.value, height, width, variance)
        heatmap = heatmap - keypoint_heatmaps(kp_source.value, height, width, variance)
        zeros = heatmap.new_zeros(heatmap.shape[0], 1, height, width)
        return torch.cat([zeros, heatmap], dim=1)

    def transformations(
        self, grid: torch.Tensor, splines: ThinPlateSplines, background: torch.Tensor | None
    ) -> torch.Tensor:
        """The background grid (identity, or the ``B×3×3`` ``background`` affine) and every
        spline on ``grid``: ``B×(T+1)×h×w×2``."""
        batch = splines.theta.shape[0]
        h, w = grid.shape[:2]
        if background is None:
            base = grid.expand(batch, 1, h, w, 2)
        else:
            homogeneous = torch.cat([grid, grid.new_ones(h, w, 1)], dim=-1)
            mapped = torch.matmul(background.view(batch, 1, 1, 3, 3), homogeneous.unsqueeze(-1))
            base = (mapped[..., :2, 0] / mapped[..., 2:, 0]).unsqueeze(1)
        return torch.cat([base, splines.transform_grid(grid)], dim=1)

    def deform_source(self, source_down: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
        """Warp the (downsampled, batch 1 or B) source by every transform:
        ``B×(T+1)×C×h×w``."""
        return warp_by_each(source_down, transforms, self.align_corners)

    @float32_forward
    def forward(
        self,
        source: torch.Tensor,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        source_down: torch.Tensor | None = None,
        background: torch.Tensor | None = None,
    ) -> TpsDenseMotion:
        """``source``: ``B×C×H×W`` (or batch 1, shared); pass a cached ``source_down`` to
        skip the downsampling. ``background``: the reconstruction protocol's ``B×3×3``
        background affine (animation uses none)."""
        if source_down is None:
            source_down = self.downsample(source)
        batch = kp_driving.value.shape[0]
        h, w = source_down.shape[2:]
        grid = coordinate_grid(h, w, like=kp_driving.value)
        heatmap = self.heatmap_representation(h, w, kp_driving, kp_source)
        splines = ThinPlateSplines.solve(kp_driving.value, kp_source.value)
        transforms = self.transformations(grid, splines, background)
        deformed = self.deform_source(source_down, transforms)
        # Heatmaps, then the deformed sources as one block (not interleaved as in FOMM).
        features = torch.cat([heatmap, deformed.reshape(batch, -1, h, w)], dim=1)
        stages = self.hourglass.stages(features)
        maps = F.softmax(self.maps(stages[-1]), dim=1)
        deformation = (transforms * maps.unsqueeze(-1)).sum(dim=1)
        heads_in = stages[-(len(self.occlusion) - len(self.up)) :]
        for block in self.up:
            heads_in.append(block(heads_in[-1]))
        occlusion = [
            torch.sigmoid(head(x)) for head, x in zip(self.occlusion, heads_in, strict=True)
        ]
        return TpsDenseMotion(splines, transforms, deformed, maps, deformation, occlusion)
