"""TPSMM inpainting network (spec §5): encode the source at four levels, warp each level
by the dense field and mask it by its occlusion map, decode with skips, and blend with
the warped source image."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import DownBlock, ResBlock, SameBlock, UpBlock, instance_norm, resize_field, warp
from .config import InpaintingConfig
from .dense_motion import TpsDenseMotion


def _masked(fresh: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``fresh * mask``, in place when no gradient needs ``fresh``'s values (a warp's
    output, used once: one map fewer at a time, the same products)."""
    if torch.is_grad_enabled() and (fresh.requires_grad or mask.requires_grad):
        return fresh * mask
    return fresh.mul_(mask)


@dataclass
class TpsSourceEncoding:
    """What depends on the source alone: ``image`` ``B×C×S×S``, the encoder maps
    ``e_0…e_D`` (full resolution first) and the dense motion's ``image_down``."""

    image: torch.Tensor
    features: list[torch.Tensor]
    image_down: torch.Tensor


@dataclass
class TpsGenerated:
    """``prediction`` ``B×C×S×S`` in (0, 1), the dense ``motion`` and, when asked for,
    the full-resolution warped source ``deformed`` (it always enters the final blend)."""

    prediction: torch.Tensor
    motion: TpsDenseMotion
    deformed: torch.Tensor | None = None


class InpaintingNetwork(nn.Module):
    """Source encoding + dense motion → the source in the driving pose."""

    def __init__(self, num_channels: int, config: InpaintingConfig, align_corners: bool = True):
        super().__init__()
        self.config = config
        self.align_corners = align_corners
        be, mf, levels = config.block_expansion, config.max_features, config.num_down_blocks

        def width(level: int) -> int:
            return min(mf, be * 2**level)

        self.first = SameBlock(num_channels, be, 7, 3, instance_norm)
        self.down_blocks = nn.ModuleList(
            DownBlock(width(i), width(i + 1), instance_norm) for i in range(levels)
        )
        # Deepest level first. The decoder takes the warped deepest features, then at each
        # shallower level its own output concatenated with that level's warped skip.
        up_blocks, resblocks = [], []
        for i in reversed(range(levels)):
            decoder_in = width(i + 1) if i == levels - 1 else 2 * width(i + 1)
            resblocks += [ResBlock(decoder_in, instance_norm), ResBlock(decoder_in, instance_norm)]
            up_blocks.append(UpBlock(decoder_in, width(i), instance_norm))
        self.up_blocks = nn.ModuleList(up_blocks)
        self.resblock = nn.ModuleList(resblocks)
        self.final = nn.Conv2d(be, num_channels, 7, padding=3)

    def encode(self, source: torch.Tensor) -> list[torch.Tensor]:
        """``e_0`` (full resolution) … ``e_D`` (deepest)."""
        features = [self.first(source)]
        for block in self.down_blocks:
            features.append(block(features[-1]))
        return features

    def _warp(self, x: torch.Tensor, deformation: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        if deformation.shape[1:3] != (h, w):
            deformation = resize_field(deformation, h, w, self.align_corners)
        return warp(x, deformation, self.align_corners)

    def _occlusion(self, motion: TpsDenseMotion, level: int, like: torch.Tensor) -> torch.Tensor:
        maps = motion.occlusion_map
        occlusion = maps[level] if len(maps) > 1 else maps[0]
        if occlusion.shape[2:] != like.shape[2:]:  # single-mask variant only
            occlusion = F.interpolate(
                occlusion, size=like.shape[2:], mode="bilinear", align_corners=True
            )
        return occlusion

    def decode(
        self,
        encoding: TpsSourceEncoding,
        motion: TpsDenseMotion,
        *,
        with_deformed: bool = False,
    ) -> TpsGenerated:
        """One image per row of ``motion`` from a batch-1 (or matching) encoding."""
        batch = motion.deformation.shape[0]

        def rows(x: torch.Tensor) -> torch.Tensor:
            return x if x.shape[0] == batch else x.expand(batch, -1, -1, -1)

        deformation = motion.deformation
        features = encoding.features[::-1]  # deepest first
        out = self._warp(rows(features[0]), deformation)
        out = _masked(out, self._occlusion(motion, 0, out))
        levels = len(self.up_blocks)
        for level in range(levels):
            # One block at a time, so that no name holds the first block's input.
            out = self.resblock[2 * level](out)
            out = self.resblock[2 * level + 1](out)
            out = self.up_blocks[level](out)
            skip = self._warp(rows(features[level + 1]), deformation)
            occlusion = self._occlusion(motion, level + 1, skip)
            skip = _masked(skip, occlusion)
            if level < levels - 1:
                out = torch.cat([out, skip], dim=1)
                del skip  # not held through the next level's blocks
        # At full resolution the skip replaces the occluded part instead of being stacked.
        out = _masked(out, 1 - occlusion).add_(skip)
        image = self._warp(rows(encoding.image), deformation)
        prediction = torch.sigmoid(self.final(out))
        prediction = prediction * (1 - occlusion) + image * occlusion
        return TpsGenerated(prediction, motion, image if with_deformed else None)
