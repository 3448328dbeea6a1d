"""Dense motion network: from two keypoint sets to a dense backward-warping field, the
soft assignment masks and the occlusion map."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import (
    AntiAliasDownsample,
    Hourglass,
    coordinate_grid,
    float32_forward,
    keypoint_heatmaps,
    warp_by_each,
)
from ..keypoints import Keypoints
from .config import DenseMotionConfig
from .keypoints import JACOBIAN


@dataclass
class DenseMotion:
    """Dense motion output at the network's working resolution ``h×w``.

    ``sparse_deformed``: ``B×(K+1)×C×h×w``; ``mask``: ``B×(K+1)×h×w`` (softmax over
    entries, background first); ``deformation``: ``B×h×w×2`` (x, y) normalised;
    ``occlusion_map``: ``B×1×h×w`` in (0, 1) or None.
    """

    sparse_deformed: torch.Tensor
    mask: torch.Tensor
    deformation: torch.Tensor
    occlusion_map: torch.Tensor | None


class DenseMotionNetwork(nn.Module):
    """Predicts where every driving-frame pixel comes from in the source image."""

    def __init__(
        self,
        num_kp: int,
        num_channels: int,
        estimate_occlusion_map: bool,
        config: DenseMotionConfig,
        align_corners: bool = False,
    ):
        super().__init__()
        self.config = config
        self.num_kp = num_kp
        self.align_corners = align_corners
        self.hourglass = Hourglass(
            config.block_expansion,
            (num_kp + 1) * (num_channels + 1),
            config.num_blocks,
            config.max_features,
        )
        self.mask = nn.Conv2d(self.hourglass.out_features, num_kp + 1, 7, padding=3)
        self.occlusion: nn.Conv2d | None = None
        if estimate_occlusion_map:
            self.occlusion = nn.Conv2d(self.hourglass.out_features, 1, 7, padding=3)
        self.down: AntiAliasDownsample | None = None
        if config.scale_factor != 1:
            self.down = AntiAliasDownsample(num_channels, config.scale_factor)

    def downsample(self, source: torch.Tensor) -> torch.Tensor:
        """The source at working resolution (``B×C×h×w``); depends on the source only."""
        return source if self.down is None else self.down(source)

    def heatmap_representation(
        self, height: int, width: int, kp_driving: Keypoints, kp_source: Keypoints
    ) -> torch.Tensor:
        """Driving minus source Gaussians, zero background first: ``B×(K+1)×1×h×w``."""
        heatmap = keypoint_heatmaps(
            kp_driving.value, height, width, self.config.kp_variance
        ) - keypoint_heatmaps(kp_source.value, height, width, self.config.kp_variance)
        zeros = heatmap.new_zeros(heatmap.shape[0], 1, height, width)
        return torch.cat([zeros, heatmap], dim=1).unsqueeze(2)

    def sparse_motion(
        self, height: int, width: int, kp_driving: Keypoints, kp_source: Keypoints
    ) -> torch.Tensor:
        """Per-keypoint first-order backward transforms: ``B×(K+1)×h×w×2``.

        Entry 0 is the identity (background); entry k maps ``z`` to
        ``J_s·J_d⁻¹·(z − p_d) + p_s``.
        """
        batch = kp_driving.value.shape[0]
        grid = coordinate_grid(height, width, like=kp_driving.value).view(1, 1, height, width, 2)
        offsets = grid - kp_driving.value.view(batch, self.num_kp, 1, 1, 2)
        if JACOBIAN in kp_driving.extras:
            assert JACOBIAN in kp_source.extras, "source keypoints lack Jacobians"
            jacobian = torch.matmul(
                kp_source.extras[JACOBIAN], torch.inverse(kp_driving.extras[JACOBIAN])
            )
            jacobian = jacobian.view(-1, self.num_kp, 1, 1, 2, 2)
            offsets = torch.matmul(jacobian, offsets.unsqueeze(-1)).squeeze(-1)
        driving_to_source = offsets + kp_source.value.view(-1, self.num_kp, 1, 1, 2)
        identity = grid.expand(batch, 1, height, width, 2)
        return torch.cat([identity, driving_to_source.expand(batch, -1, -1, -1, -1)], dim=1)

    def deform_source(self, source_down: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
        """Warp the (downsampled) source by every sparse motion: ``B×(K+1)×C×h×w``.

        ``source_down`` may have batch 1 and is then shared by every row of ``motions``.
        """
        return warp_by_each(source_down, motions, self.align_corners)

    @float32_forward
    def forward(
        self,
        source: torch.Tensor,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        source_down: torch.Tensor | None = None,
    ) -> DenseMotion:
        """``source``: ``B×C×H×W`` (or batch 1, shared); pass a cached ``source_down`` to
        skip the downsampling."""
        if source_down is None:
            source_down = self.downsample(source)
        batch = kp_driving.value.shape[0]
        h, w = source_down.shape[2:]
        heatmap = self.heatmap_representation(h, w, kp_driving, kp_source)
        motions = self.sparse_motion(h, w, kp_driving, kp_source)
        deformed = self.deform_source(source_down, motions)
        features = torch.cat([heatmap, deformed], dim=2).view(batch, -1, h, w)
        prediction = self.hourglass(features)
        mask = F.softmax(self.mask(prediction), dim=1)
        deformation = (motions.permute(0, 1, 4, 2, 3) * mask.unsqueeze(2)).sum(dim=1)
        deformation = deformation.permute(0, 2, 3, 1)
        occlusion = None
        if self.occlusion is not None:
            occlusion = torch.sigmoid(self.occlusion(prediction))
        return DenseMotion(deformed, mask, deformation, occlusion)
