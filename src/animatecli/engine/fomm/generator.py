"""Occlusion-aware generator: encode the source, warp its features by the dense motion,
mask occluded regions, decode an image."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import DownBlock, ResBlock, SameBlock, UpBlock, resize_field, warp
from ..keypoints import Keypoints
from .config import GeneratorConfig
from .dense_motion import DenseMotion, DenseMotionNetwork


@dataclass
class SourceEncoding:
    """Everything the generator needs that depends on the source image alone.

    ``image``: ``B×C×H×W``; ``features``: encoder output ``B×F×H/2^D×W/2^D``;
    ``image_down``: the dense motion network's downsampled source ``B×C×h×w``.
    """

    image: torch.Tensor
    features: torch.Tensor
    image_down: torch.Tensor


@dataclass
class Generated:
    """Generator output: ``prediction`` ``B×C×H×W`` in (0, 1), the dense ``motion`` and,
    only when requested, the diagnostic full-resolution ``deformed`` source."""

    prediction: torch.Tensor
    motion: DenseMotion
    deformed: torch.Tensor | None = None


class OcclusionAwareGenerator(nn.Module):
    """Source image + keypoints → image of the source in the driving pose."""

    def __init__(
        self,
        num_kp: int,
        num_channels: int,
        config: GeneratorConfig,
        align_corners: bool = False,
    ):
        super().__init__()
        self.config = config
        self.dense_motion_network = DenseMotionNetwork(
            num_kp, num_channels, config.estimate_occlusion_map, config.dense_motion
        )
        be, mf = config.block_expansion, config.max_features
        self.first = SameBlock(num_channels, be, kernel_size=7, padding=3)
        self.down_blocks = nn.ModuleList(
            DownBlock(min(mf, be * 2**i), min(mf, be * 2 ** (i + 1)))
            for i in range(config.num_down_blocks)
        )
        self.up_blocks = nn.ModuleList(
            UpBlock(
                min(mf, be * 2 ** (config.num_down_blocks - i)),
                min(mf, be * 2 ** (config.num_down_blocks - i - 1)),
            )
            for i in range(config.num_down_blocks)
        )
        bottleneck_features = min(mf, be * 2**config.num_down_blocks)
        self.bottleneck = nn.Sequential()
        for i in range(config.num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock(bottleneck_features))
        self.final = nn.Conv2d(be, num_channels, 7, padding=3)
        self.set_align_corners(align_corners)

    def set_align_corners(self, align_corners: bool) -> None:
        """One switch for every warp (sparse deformed sources, features, ``deformed``).

        False (default) is what the original code gives on PyTorch ≥ 1.3 and what the
        reference numbers use; True is the PyTorch ≤ 1.2 behaviour the official
        checkpoints were trained under.
        """
        self.align_corners = align_corners
        self.dense_motion_network.align_corners = align_corners

    def encode_source(self, source: torch.Tensor) -> SourceEncoding:
        """Run the parts that depend on the source only (cache the result)."""
        features = self.first(source)
        for block in self.down_blocks:
            features = block(features)
        return SourceEncoding(source, features, self.dense_motion_network.downsample(source))

    def decode(
        self,
        encoding: SourceEncoding,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> Generated:
        """Generate one image per row of ``kp_driving`` from a (batch 1 or B) encoding."""
        motion = self.dense_motion_network(
            encoding.image, kp_driving, kp_source, source_down=encoding.image_down
        )
        batch = kp_driving.value.shape[0]
        features = encoding.features
        if features.shape[0] != batch:
            features = features.expand(batch, -1, -1, -1)
        deformation = motion.deformation
        h, w = features.shape[2:]
        if deformation.shape[1:3] != (h, w):
            deformation = resize_field(deformation, h, w, self.align_corners)
        out = warp(features, deformation, self.align_corners)
        if motion.occlusion_map is not None:
            occlusion = motion.occlusion_map
            if occlusion.shape[2:] != (h, w):
                occlusion = F.interpolate(occlusion, size=(h, w), mode="bilinear")
            out = out * occlusion
        deformed = None
        if with_deformed:
            image = encoding.image
            if image.shape[0] != batch:
                image = image.expand(batch, -1, -1, -1)
            full = deformation  # already at image size when the features are (no down blocks)
            if full.shape[1:3] != image.shape[2:]:
                full = resize_field(motion.deformation, *image.shape[2:], self.align_corners)
            deformed = warp(image, full, self.align_corners)
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        prediction = torch.sigmoid(self.final(out))
        return Generated(prediction, motion, deformed)

    def forward(
        self,
        source: torch.Tensor,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> Generated:
        """Uncached path: encode ``source`` and decode in one call."""
        return self.decode(
            self.encode_source(source), kp_driving, kp_source, with_deformed=with_deformed
        )
