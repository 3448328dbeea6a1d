"""Inference-only rewrites of a model's layers: the same function in fewer, cheaper passes.

Two rewrites, both exact up to float32 rounding (the parity tests hold them to the
reference tolerances):

* **Batch norm folded into the convolution before it.** At inference a batch norm is a
  per-channel affine map of its running statistics, so it merges into that convolution's
  weights and bias and costs nothing (FOMM's blocks and TPSMM's ResNet-18; instance norm
  depends on each input and stays).
* **Nearest ×2 upsampling followed by a 3×3 convolution** (every up block) computed from
  the small input: each of the four output phases (even/odd row × even/odd column) is a
  2×2 convolution whose taps are sums of the 3×3 taps landing on the same input pixel.
  That is 4 instead of 9 multiply-adds per output pixel, and no upsampled copy.

Modules opt in to the folding by naming their (convolution, batch norm) pairs in
``CONV_NORM_PAIRS`` (the norm must apply to that convolution's output and to nothing
else); every :class:`~.blocks.UpBlock` gets the phase form.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import UpBlock


def fold_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    """Make ``conv`` compute ``norm(conv(x))`` (eval-mode statistics), in place.

    ``w' = w·γ/√(σ²+ε)``, ``b' = (b − μ)·γ/√(σ²+ε) + β``, computed in float64.
    """
    assert norm.running_mean is not None and norm.running_var is not None
    scale = norm.running_var.double().add(norm.eps).rsqrt()
    if norm.affine:
        scale = scale * norm.weight.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - norm.running_mean.double()) * scale
    if norm.affine:
        bias = bias + norm.bias.double()
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    memory_format = (
        torch.channels_last
        if conv.weight.is_contiguous(memory_format=torch.channels_last)
        and not conv.weight.is_contiguous()
        else torch.contiguous_format
    )
    conv.weight = nn.Parameter(
        weight.to(conv.weight.dtype).contiguous(memory_format=memory_format),
        requires_grad=False,
    )
    conv.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=False)


def _foldable(norm: nn.Module) -> bool:
    return type(norm) is nn.BatchNorm2d and not norm.training and norm.track_running_stats


# Output phase (row or column parity) → the 3×3 taps that fall on each of the two input
# rows (or columns) it reads.
_PHASE_TAPS = {0: ((0,), (1, 2)), 1: ((0, 1), (2,))}
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def phase_kernel(weight: torch.Tensor, row_phase: int, column_phase: int) -> torch.Tensor:
    """The ``O×I×2×2`` kernel of one output phase of a nearest-×2-upsampled ``O×I×3×3``
    convolution (summed in float64, returned in ``weight``'s dtype)."""
    taps = weight.double()
    rows = [taps[:, :, list(r)].sum(2) for r in _PHASE_TAPS[row_phase]]
    kernel = [[row[:, :, list(c)].sum(2) for c in _PHASE_TAPS[column_phase]] for row in rows]
    return torch.stack([torch.stack(row, -1) for row in kernel], -2).to(weight.dtype)


class NearestUpsampleConv(nn.Module):
    """``conv(interpolate(x, scale_factor=2, mode="nearest"))`` for a 3×3, padding-1,
    stride-1 ``conv``, without the upsampled copy: ``B×I×H×W`` → ``B×O×2H×2W``.

    Output row ``2i+a`` reads upsampled rows ``2i+a−1 … 2i+a+1``, that is input rows
    ``i−1, i`` (a=0: taps 0 | 1+2) or ``i, i+1`` (a=1: taps 0+1 | 2); columns likewise.
    The 2×2 phase kernels are non-persistent buffers (the state dict does not change).
    Inputs under ``MIN_PIXELS`` (the 4×4 bottom of a hourglass) take the plain path:
    oneDNN runs the 2×2 kernels slower than the 3×3 one there.
    """

    MIN_PIXELS = 64

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1):
            raise ValueError("only a 3×3 convolution with padding 1 and stride 1")
        if conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError("only a dense, undilated convolution")
        weight = conv.weight.detach()
        # Keep the weights' memory format (channels-last kernels for channels-last input).
        layout = torch.contiguous_format if weight.is_contiguous() else torch.channels_last
        for a, b in PHASES:
            kernel = phase_kernel(weight, a, b).contiguous(memory_format=layout)
            self.register_buffer(f"kernel{a}{b}", kernel, persistent=False)
        self.register_buffer("weight", weight, persistent=False)
        bias = None if conv.bias is None else conv.bias.detach()
        self.register_buffer("bias", bias, persistent=False)
        self.out_features = conv.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if height * width < self.MIN_PIXELS:
            upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
            return F.conv2d(upsampled, self.weight, self.bias, padding=1)
        padded = F.pad(x, (1, 1, 1, 1))
        out: torch.Tensor | None = None
        for a, b in PHASES:
            phase = F.conv2d(
                padded[:, :, a : a + height + 1, b : b + width + 1],
                getattr(self, f"kernel{a}{b}"),
                self.bias,
            )
            if out is None:
                out = phase.new_empty(batch, self.out_features, 2 * height, 2 * width)
                if x.is_contiguous(memory_format=torch.channels_last):
                    out = out.contiguous(memory_format=torch.channels_last)
            out[:, :, a::2, b::2] = phase
        assert out is not None
        return out


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every eval-mode batch norm a module declares in ``CONV_NORM_PAIRS`` (and
    every ``Sequential(conv, batch norm)``) into its convolution, replacing the norm by
    an identity. Returns how many were folded."""
    folded = 0
    for module in model.modules():
        pairs: tuple[tuple[str, str], ...] = getattr(module, "CONV_NORM_PAIRS", ())
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            pairs = tuple(itertools.pairwise(names))
        for conv_name, norm_name in pairs:
            conv, norm = getattr(module, conv_name), getattr(module, norm_name)
            if isinstance(conv, nn.Conv2d) and _foldable(norm):
                fold_batch_norm(conv, norm)
                setattr(module, norm_name, nn.Identity())
                folded += 1
    return folded


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """Apply both rewrites to an eval-mode ``model`` in place (its weights in their final
    device and memory format) and return it.

    The model stays an inference model afterwards: its batch norms are gone from the
    state dict, and up blocks no longer read their ``conv`` weights.
    """
    if model.training:
        raise ValueError("prepare_for_inference needs a model in eval mode")
    fold_batch_norms(model)
    for module in model.modules():
        if isinstance(module, UpBlock):
            module.upsampled_conv = NearestUpsampleConv(module.conv)
    return model
