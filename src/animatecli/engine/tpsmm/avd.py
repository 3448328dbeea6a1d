"""TPSMM's AVD network (spec §6, "animation via disentanglement"): re-poses the source's
keypoints with the driving frame's pose, three MLPs with batch norm."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from ..keypoints import Keypoints
from .config import AvdConfig


def _mlp(widths: list[int]) -> nn.Sequential:
    """Linear layers of ``widths``, with BatchNorm1d and ReLU between them (positions
    0, 3, 6, 9 linear; 1, 4, 7 batch norm; 2, 5, 8 ReLU)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers += [nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class AvdNetwork(nn.Module):
    """(source keypoints, driving keypoints) → driving keypoints for the source's identity."""

    def __init__(self, num_tps: int, config: AvdConfig):
        super().__init__()
        width = 10 * num_tps
        self.id_encoder = _mlp([width, 256, 512, 1024, config.id_bottle_size])
        self.pose_encoder = _mlp([width, 256, 512, 1024, config.pose_bottle_size])
        self.decoder = _mlp(
            [config.pose_bottle_size + config.id_bottle_size, 1024, 512, 256, width]
        )

    def forward(self, kp_source: Keypoints, kp_driving: Keypoints) -> Keypoints:
        batch = kp_driving.value.shape[0]
        source = kp_source.value.reshape(kp_source.value.shape[0], -1).expand(batch, -1)
        pose = self.pose_encoder(kp_driving.value.reshape(batch, -1))
        identity = self.id_encoder(source)
        value = self.decoder(torch.cat([pose, identity], dim=1))
        return Keypoints(value.view(batch, -1, 2))
