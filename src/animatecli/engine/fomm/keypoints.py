"""FOMM keypoint detector: image → K keypoints (normalised (x, y)) and their 2×2 Jacobians
(the ``jacobian`` extra)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import AntiAliasDownsample, Hourglass, coordinate_grid, float32_forward
from ..keypoints import KeypointExtra, Keypoints
from .config import KeypointDetectorConfig

JACOBIAN = "jacobian"


def relative_jacobian(
    driving: torch.Tensor, initial: torch.Tensor, source: torch.Tensor
) -> torch.Tensor:
    """Relative motion's Jacobians (FOMM §5.3): ``J = (J_d · J_init⁻¹) · J_s``, all
    ``…×K×2×2``."""
    return torch.matmul(torch.matmul(driving, torch.inverse(initial)), source)


# Each keypoint's local affine transform (2×2), carried over relative motion as above.
JACOBIAN_EXTRA = KeypointExtra(JACOBIAN, (2, 2), relative_jacobian)


def heatmap_expectation(heatmap: torch.Tensor) -> torch.Tensor:
    """Expected grid position under each heatmap: ``B×K×h×w`` → ``B×K×2``."""
    grid = coordinate_grid(heatmap.shape[2], heatmap.shape[3], like=heatmap)
    return (heatmap.unsqueeze(-1) * grid.view(1, 1, *grid.shape)).sum(dim=(2, 3))


class KeypointDetector(nn.Module):
    """Hourglass + heatmap soft-argmax; optional Jacobian head.

    Input ``B×C×H×W`` in ``[0, 1]``; works at ``scale_factor`` of the input resolution.
    """

    def __init__(
        self,
        num_kp: int,
        num_channels: int,
        estimate_jacobian: bool,
        config: KeypointDetectorConfig,
    ):
        super().__init__()
        self.config = config
        self.num_kp = num_kp
        self.predictor = Hourglass(
            config.block_expansion, num_channels, config.num_blocks, config.max_features
        )
        self.kp = nn.Conv2d(self.predictor.out_features, num_kp, 7, padding=config.pad)
        self.jacobian: nn.Conv2d | None = None
        self.num_jacobian_maps = 0
        if estimate_jacobian:
            self.num_jacobian_maps = 1 if config.single_jacobian_map else num_kp
            self.jacobian = nn.Conv2d(
                self.predictor.out_features, 4 * self.num_jacobian_maps, 7, padding=config.pad
            )
            # Identity at initialisation (matters only when training from scratch).
            nn.init.zeros_(self.jacobian.weight)
            with torch.no_grad():
                self.jacobian.bias.copy_(
                    torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(self.num_jacobian_maps)
                )
        self.down: AntiAliasDownsample | None = None
        if config.scale_factor != 1:
            self.down = AntiAliasDownsample(num_channels, config.scale_factor)

    @float32_forward
    def forward(self, image: torch.Tensor) -> Keypoints:
        x = image if self.down is None else self.down(image)
        features = self.predictor(x)
        logits = self.kp(features)
        batch, num_kp, h, w = logits.shape
        heatmap = F.softmax(logits.view(batch, num_kp, -1) / self.config.temperature, dim=2)
        heatmap = heatmap.view(batch, num_kp, h, w)
        value = heatmap_expectation(heatmap)
        if self.jacobian is None:
            return Keypoints(value)
        maps = self.jacobian(features).view(batch, self.num_jacobian_maps, 4, h, w)
        weighted = heatmap.unsqueeze(2) * maps
        jacobian = weighted.view(batch, num_kp, 4, -1).sum(dim=-1).view(batch, num_kp, 2, 2)
        return Keypoints(value, {JACOBIAN: jacobian})
