"""Building blocks shared by the families' networks: conv blocks (batch norm for FOMM,
instance norm for TPSMM), hourglass, anti-aliased downsampling, coordinate grids,
Gaussian heatmaps and warps.

Pure torch, no I/O. Every tensor is channel-first (``B×C×H×W``) unless stated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

# Variance of the keypoint Gaussians, in normalised units (FOMM's fixed default).
KP_VARIANCE = 0.01

Forward = TypeVar("Forward", bound=Callable[..., Any])
Norm = Callable[[int], nn.Module]


def batch_norm(features: int) -> nn.Module:
    """FOMM's normalisation: running statistics at inference (5 state-dict entries)."""
    return nn.BatchNorm2d(features, affine=True)


def instance_norm(features: int) -> nn.Module:
    """TPSMM's: per-sample statistics also at inference, affine (2 entries, no buffers)."""
    return nn.InstanceNorm2d(features, affine=True)


def _as_float32(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    return value


def float32_forward(forward: Forward) -> Forward:
    """Run a module's ``forward`` in float32 even under autocast (floating tensor
    arguments are cast up; the first argument gives the device).

    For the networks that end in a sharp softmax (the keypoint heatmaps at temperature
    0.1, the dense motion's mask): half-precision rounding there turns into visibly
    misplaced keypoints and pixels (measured on an H200: fp16 moved pixels of the bundled
    model by up to 81 levels, bf16 by 230; with these two in float32, 2.4 and 21).
    The same sharpness is why `inference.prepare_for_inference` keeps such networks on
    the direct convolutions: it looks for the ``keeps_float32`` mark set here.
    """

    @functools.wraps(forward)
    def wrapper(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
        with torch.autocast(args[0].device.type, enabled=False):
            args = tuple(_as_float32(a) for a in args)
            kwargs = {k: _as_float32(v) for k, v in kwargs.items()}
            return forward(module, *args, **kwargs)

    wrapper.keeps_float32 = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def keeps_float32(module: nn.Module) -> bool:
    """Whether ``module``'s forward is a `float32_forward` (a precision-sensitive net)."""
    return getattr(type(module).forward, "keeps_float32", False)


def is_dense_3x3(module: nn.Module) -> bool:
    """Whether ``module`` is a dense 3×3 convolution with stride 1 and zero padding 1
    (the kind `inference` can compute by other means)."""
    return (
        type(module) is nn.Conv2d
        and module.kernel_size == (3, 3)
        and module.stride == (1, 1)
        and module.padding == (1, 1)
        and module.dilation == (1, 1)
        and module.groups == 1
        and module.padding_mode == "zeros"
    )


def coordinate_grid(height: int, width: int, *, like: torch.Tensor) -> torch.Tensor:
    """Normalised ``height×width×2`` grid, last axis ``(x, y)`` spanning ``[-1, 1]``.

    Built as ``2·(i/(n−1)) − 1`` in the dtype of ``like``: ``linspace`` rounds many
    entries differently and the reference numbers depend on the exact values.
    """
    x = torch.arange(width, dtype=like.dtype, device=like.device)
    y = torch.arange(height, dtype=like.dtype, device=like.device)
    x = 2 * (x / (width - 1)) - 1
    y = 2 * (y / (height - 1)) - 1
    xx = x.view(1, -1).expand(height, width)
    yy = y.view(-1, 1).expand(height, width)
    return torch.stack([xx, yy], dim=2)


def keypoint_heatmaps(
    values: torch.Tensor, height: int, width: int, variance: float = KP_VARIANCE
) -> torch.Tensor:
    """Isotropic Gaussians centred on keypoints.

    ``values``: ``…×K×2`` (x, y) normalised → ``…×K×height×width``,
    ``exp(−½·d²/variance)``.
    """
    grid = coordinate_grid(height, width, like=values)
    lead = values.shape[:-1]
    grid = grid.view(*([1] * len(lead)), height, width, 2)
    centred = grid - values.view(*lead, 1, 1, 2)
    return torch.exp(-0.5 * (centred**2).sum(-1) / variance)


def _channel_groups(image: torch.Tensor, field: torch.Tensor) -> int:
    """How many channel groups a CPU warp of one image splits into: one per compute
    thread where the channels divide evenly, else 1 (see `warp`)."""
    threads = torch.get_num_threads()
    if (
        threads < 2
        or image.device.type != "cpu"
        or image.shape[0] != 1
        or field.shape[0] != 1
        or image.shape[1] % threads != 0
        or (torch.is_grad_enabled() and image.requires_grad)
    ):
        return 1
    return threads


def warp(image: torch.Tensor, field: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Backward-warp ``image`` (``B×C×H×W``) by ``field`` (``B×h×w×2``, (x, y) normalised).

    Bilinear taps, zero padding outside the image.
    """
    groups = _channel_groups(image, field)
    _, channels, height, width = image.shape
    if groups > 1:
        # PyTorch's CPU sampler shares out its work by batch entry only, so one image
        # ran on one thread. Its channel groups as batch entries (a strided view, no
        # copy) use every thread and give the same numbers, written where one call
        # writes them: TPSMM's 64-channel map at 256² took 8.2 ms against 14.1.
        stride = image.stride()
        image = image.as_strided(
            (groups, channels // groups, height, width),
            (channels // groups * stride[1], *stride[1:]),
        )
        field = field.expand(groups, -1, -1, -1)
    warped = F.grid_sample(
        image, field, mode="bilinear", padding_mode="zeros", align_corners=align_corners
    )
    return warped if groups == 1 else warped.reshape(1, channels, *warped.shape[2:])


def warp_by_each(image: torch.Tensor, fields: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Warp ``image`` (``B×C×h×w``, or batch 1 shared by every row) by each of ``fields``
    (``B×N×h×w×2``): ``B×N×C×h×w``, one warped copy per field, in one sampling call."""
    batch, entries, h, w, _ = fields.shape
    channels = image.shape[1]
    repeated = image.unsqueeze(1).expand(batch, entries, channels, h, w)
    warped = warp(
        repeated.reshape(batch * entries, channels, h, w),
        fields.reshape(batch * entries, h, w, 2),
        align_corners,
    )
    return warped.view(batch, entries, channels, h, w)


def resize_field(
    field: torch.Tensor, height: int, width: int, align_corners: bool = False
) -> torch.Tensor:
    """Bilinearly resize a ``B×h×w×2`` field to ``B×height×width×2``.

    Under the align_corners=True convention the values ±1 sit on the corner pixels'
    centres, and only the matching interpolation keeps a linear field (the identity
    motion above all) exact; False is what the official code does.
    """
    resized = F.interpolate(
        field.permute(0, 3, 1, 2),
        size=(height, width),
        mode="bilinear",
        align_corners=align_corners,
    )
    return resized.permute(0, 2, 3, 1)


class SameBlock(nn.Module):
    """conv → norm → ReLU, spatial size unchanged."""

    # The norms that apply to one convolution's output (`inference.fold_batch_norms`).
    CONV_NORM_PAIRS = (("conv", "norm"),)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int,
        padding: int,
        norm: Norm = batch_norm,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = norm(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In place: the norm's (or, folded, the convolution's) output is a fresh tensor.
        return F.relu(self.norm(self.conv(x)), inplace=True)


class DownBlock(nn.Module):
    """conv 3×3 → norm → ReLU → 2×2 average pool (halves H and W)."""

    CONV_NORM_PAIRS = (("conv", "norm"),)

    def __init__(self, in_features: int, out_features: int, norm: Norm = batch_norm):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = norm(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x)), inplace=True), kernel_size=2)


class UpBlock(nn.Module):
    """nearest ×2 upsample → conv 3×3 → norm → ReLU (doubles H and W).

    ``upsampled_conv``, when set (`inference.prepare_for_inference`), computes the first
    two steps in one, from the small input, and takes the place of ``conv``.
    """

    CONV_NORM_PAIRS = (("conv", "norm"),)

    def __init__(self, in_features: int, out_features: int, norm: Norm = batch_norm):
        super().__init__()
        self.conv: nn.Conv2d | None = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = norm(out_features)
        self.upsampled_conv: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsampled_conv is not None:
            x = self.upsampled_conv(x)
        else:
            assert self.conv is not None
            x = self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return F.relu(self.norm(x), inplace=True)


class ResBlock(nn.Module):
    """Pre-activation residual block: ``x + conv2(relu(n2(conv1(relu(n1(x))))))``."""

    # norm1 also feeds the residual's input, not a convolution's output: it stays.
    CONV_NORM_PAIRS = (("conv1", "norm2"),)

    def __init__(self, features: int, norm: Norm = batch_norm):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.norm1 = norm(features)
        self.norm2 = norm(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In place where the norm made a fresh tensor (it is never folded, but an
        # identity would hand back ``x``, which the residual still needs); the sum too:
        # the convolution's output is fresh. Each map is dropped as soon as it is used:
        # two or three maps fewer at a time, the same numbers.
        out = self.norm1(x)
        out = self.conv1(F.relu(out, inplace=out is not x))
        out = F.relu(self.norm2(out), inplace=True)
        out = self.conv2(out)
        return out.add_(x)


def _channels(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * (2**level))


class Encoder(nn.Module):
    """Hourglass encoder: returns ``[x, e_0, …, e_{N−1}]``."""

    def __init__(
        self,
        block_expansion: int,
        in_features: int,
        num_blocks: int,
        max_features: int,
        norm: Norm = batch_norm,
    ):
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                DownBlock(
                    in_features if i == 0 else _channels(block_expansion, max_features, i),
                    _channels(block_expansion, max_features, i + 1),
                    norm,
                )
            )
        self.down_blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Hourglass decoder: upsample, then concatenate ``[upsampled, skip]`` at each level."""

    def __init__(
        self,
        block_expansion: int,
        in_features: int,
        num_blocks: int,
        max_features: int,
        norm: Norm = batch_norm,
    ):
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            in_ch = (1 if i == num_blocks - 1 else 2) * _channels(
                block_expansion, max_features, i + 1
            )
            blocks.append(UpBlock(in_ch, _channels(block_expansion, max_features, i), norm))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_features = block_expansion + in_features
        # Channels of every stage output, deepest first (the last is ``out_features``).
        self.stage_features = [
            2 * _channels(block_expansion, max_features, i) if i else self.out_features
            for i in reversed(range(num_blocks))
        ]

    def stages(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every stage's ``[upsampled, skip]`` output, deepest first (the last is the
        hourglass output at input resolution)."""
        skips = list(features)
        out = skips.pop()
        outputs = []
        for block in self.up_blocks:
            out = block(out)
            out = torch.cat([out, skips.pop()], dim=1)
            outputs.append(out)
        return outputs

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.stages(features)[-1]


class Hourglass(nn.Module):
    """U-Net: ``B×in×H×W`` → ``B×(block_expansion+in)×H×W`` (H, W divisible by 2^N)."""

    def __init__(
        self,
        block_expansion: int,
        in_features: int,
        num_blocks: int = 3,
        max_features: int = 256,
        norm: Norm = batch_norm,
    ):
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features, norm)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features, norm)
        self.out_features = self.decoder.out_features

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All decoder stage outputs, deepest first (see :meth:`Decoder.stages`)."""
        return self.decoder.stages(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def antialias_kernel_size(scale: float) -> int:
    """Side of the Gaussian kernel used to shrink by ``scale`` (13 for 0.25)."""
    sigma = (1 / scale - 1) / 2
    return 2 * round(sigma * 4) + 1


class AntiAliasDownsample(nn.Module):
    """Gaussian blur (zero padded, depthwise) then keep every ``1/scale``-th pixel from 0.

    The kernel is a persistent buffer ``weight`` (``C×1×k×k``) so checkpoints carry it.
    """

    weight: torch.Tensor

    def __init__(self, channels: int, scale: float):
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = antialias_kernel_size(scale)
        self.pad = size // 2
        self.step = int(1 / scale)
        self.groups = channels
        t = torch.arange(size, dtype=torch.float32)
        profile = torch.exp(-((t - (size - 1) / 2) ** 2) / (2 * sigma**2))
        kernel = profile.view(-1, 1) * profile.view(1, -1)
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.view(1, 1, size, size).repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The kernel is the outer product of a normalised 1-D Gaussian with itself, so its
        # row and column sums are that profile: blurring columns then rows, and keeping
        # only every ``step``-th line as we go, equals the 2-D blur followed by the
        # subsampling at O(k) instead of O(k²) work per kept pixel (the 29×29 kernel of
        # the ⅛ scale made the 2-D form a tenth of a training step).
        vertical = self.weight.sum(dim=3, keepdim=True)
        horizontal = self.weight.sum(dim=2, keepdim=True)
        x = F.conv2d(x, vertical, stride=(self.step, 1), padding=(self.pad, 0), groups=self.groups)
        return F.conv2d(
            x, horizontal, stride=(1, self.step), padding=(0, self.pad), groups=self.groups
        )
