"""The two Real-ESRGAN networks, written from the facts in ``esrgan-spec.md`` §4.

* :class:`CompactNet`: a plain stack of 3×3 convolutions with PReLU at the input's
  resolution, a pixel shuffle, and the input upsampled by nearest neighbour added
  (realesr-animevideov3, realesr-general-x4v3).
* :class:`RRDBNet`: residual-in-residual dense blocks at the input's resolution, then two
  nearest ×2 upsamplings each followed by a convolution (RealESRGAN_x4plus, _anime_6B,
  and the ×2 file that takes a pixel-unshuffled input).

Both map ``N×3×H×W`` float in [0, 1] to ``N×3×(s·H)×(s·W)`` (unclamped; the runner
clamps), where ``s = output_scale``. ``output_scale`` below the network's native
``net_scale`` adds the runtime's bicubic resize at the end (the ncnn ×2/×3 compact files
are the ×4 network followed by bicubic ×0.5 / ×0.75).

The module and parameter names follow the official ``.pth`` key layout, so an official
state dict loads as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Kind = Literal["compact", "rrdb"]
LEAKY_SLOPE = 0.2
RESIDUAL_SCALE = 0.2


@dataclass(frozen=True)
class UpscalerConfig:
    """What a weight file says about its network.

    ``convs``: body convolutions (compact) or RRDB blocks (rrdb). ``unshuffle``: the
    pixel-unshuffle factor applied to the input (RRDB ×2/×1 files; 1 otherwise).
    ``net_scale``: the network's own scale; ``output_scale``: after the bicubic tail.
    """

    kind: Kind
    features: int
    convs: int
    net_scale: int
    output_scale: int
    growth: int = 32
    unshuffle: int = 1
    in_channels: int = 3

    def __post_init__(self) -> None:
        if self.output_scale < 1 or self.output_scale > self.net_scale:
            raise ValueError(
                f"output scale {self.output_scale} must be 1…{self.net_scale} (the net's own)"
            )

    def with_output_scale(self, scale: int) -> UpscalerConfig:
        """The same network resized to ``scale`` by the bicubic tail."""
        return UpscalerConfig(
            self.kind,
            self.features,
            self.convs,
            self.net_scale,
            scale,
            self.growth,
            self.unshuffle,
            self.in_channels,
        )


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, 1, 1)


def bicubic_tail(x: torch.Tensor, net_scale: int, output_scale: int) -> torch.Tensor:
    """Resize a ``net_scale``× result to ``output_scale``× by PyTorch's bicubic
    (``align_corners=False``, no antialiasing): what the ncnn ×2/×3 files do."""
    if output_scale == net_scale:
        return x
    size = (x.shape[-2] * output_scale // net_scale, x.shape[-1] * output_scale // net_scale)
    return F.interpolate(x, size=size, scale_factor=None, mode="bicubic", align_corners=False)


class CompactNet(nn.Module):
    """SRVGGNetCompact: ``body`` alternates conv and PReLU (``body.0`` the 3→F conv,
    ``body.1`` its PReLU, …, the last entry the F→3·u² conv), then pixel shuffle ×u,
    plus the input upsampled ×u by nearest neighbour."""

    def __init__(self, config: UpscalerConfig):
        super().__init__()
        if config.kind != "compact" or config.unshuffle != 1:
            raise ValueError("CompactNet needs a compact config without pixel unshuffle")
        self.config = config
        features, scale = config.features, config.net_scale
        layers: list[nn.Module] = [_conv(config.in_channels, features), nn.PReLU(features)]
        for _ in range(config.convs):
            layers += [_conv(features, features), nn.PReLU(features)]
        layers.append(_conv(features, config.in_channels * scale * scale))
        self.body = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N×3×H×W`` → ``N×3×(s·H)×(s·W)``, s the output scale."""
        out = x
        for layer in self.body:
            out = layer(out)
        scale = self.config.net_scale
        out = F.pixel_shuffle(out, scale)
        out = out + F.interpolate(x, scale_factor=scale, mode="nearest")
        return bicubic_tail(out, scale, self.config.output_scale)


class ResidualDenseBlock(nn.Module):
    """Five convolutions, each reading the block input and every earlier output
    (F, F+g, …, F+4g channels); ``0.2 × conv5 + input``."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.conv1 = _conv(features, growth)
        self.conv2 = _conv(features + growth, growth)
        self.conv3 = _conv(features + 2 * growth, growth)
        self.conv4 = _conv(features + 3 * growth, growth)
        self.conv5 = _conv(features + 4 * growth, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grown = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            grown.append(F.leaky_relu(conv(torch.cat(grown, 1)), LEAKY_SLOPE, inplace=True))
        return torch.add(x, self.conv5(torch.cat(grown, 1)), alpha=RESIDUAL_SCALE)


class RRDB(nn.Module):
    """Three residual dense blocks in sequence; ``0.2 × result + input``."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(features, growth)
        self.rdb2 = ResidualDenseBlock(features, growth)
        self.rdb3 = ResidualDenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.rdb3(self.rdb2(self.rdb1(x))), alpha=RESIDUAL_SCALE)


class RRDBNet(nn.Module):
    """RRDBNet (ESRGAN's generator), ×4 at its core.

    ``conv_up1``/``conv_up2`` are each applied to a nearest ×2 upsampled map; on the
    CPU the runner may swap them for the phase form that skips the upsampled copy
    (:class:`..inference.NearestUpsampleConv`), which :meth:`forward` recognises.
    """

    def __init__(self, config: UpscalerConfig):
        super().__init__()
        if config.kind != "rrdb":
            raise ValueError("RRDBNet needs an rrdb config")
        self.config = config
        features, growth = config.features, config.growth
        in_channels = config.in_channels * config.unshuffle**2
        self.conv_first = _conv(in_channels, features)
        self.body = nn.Sequential(*(RRDB(features, growth) for _ in range(config.convs)))
        self.conv_body = _conv(features, features)
        self.conv_up1: nn.Module = _conv(features, features)
        self.conv_up2: nn.Module = _conv(features, features)
        self.conv_hr = _conv(features, features)
        self.conv_last = _conv(features, config.in_channels)

    @staticmethod
    def _upsample_conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if isinstance(conv, nn.Conv2d):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.leaky_relu(conv(x), LEAKY_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``N×3×H×W`` → ``N×3×(s·H)×(s·W)`` (H, W multiples of the unshuffle factor)."""
        if self.config.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.config.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self._upsample_conv(self.conv_up1, feat)
        feat = self._upsample_conv(self.conv_up2, feat)
        out = self.conv_last(F.leaky_relu(self.conv_hr(feat), LEAKY_SLOPE, inplace=True))
        return bicubic_tail(out, self.config.net_scale, self.config.output_scale)


UpscaleNet = CompactNet | RRDBNet


def build_net(config: UpscalerConfig) -> UpscaleNet:
    """An unfilled network for ``config`` (eval mode, float32)."""
    net: UpscaleNet = CompactNet(config) if config.kind == "compact" else RRDBNet(config)
    return net.eval()
