"""Inference-only rewrites of a model's layers: the same function in fewer, cheaper passes.

Each is exact up to float32 rounding (the parity tests hold them to the reference
tolerances):

* **Batch norm folded into the convolution before it.** At inference a batch norm is a
  per-channel affine map of its running statistics, so it merges into that convolution's
  weights and bias and costs nothing (FOMM's blocks and TPSMM's ResNet-18; instance norm
  depends on each input and stays).
* **Nearest ×2 upsampling followed by a 3×3 convolution** (every up block) computed from
  the small input: each of the four output phases (even/odd row × even/odd column) is a
  2×2 convolution whose taps are sums of the 3×3 taps landing on the same input pixel.
  That is 4 instead of 9 multiply-adds per output pixel, and no upsampled copy. On the
  smallest maps (the hourglasses' bottoms) the upsampled 3×3 convolution runs as one
  matrix product of its patches instead.
* **On the CPU**, the wide 3×3 convolutions by Winograd's F(4×4, 3×3) with the points
  of TOMS 2020 (:mod:`.winograd`) outside the precision-sensitive networks; the 7×7
  convolutions with 1–3 outputs (the generators' last layer, TPSMM's occlusion heads) as
  one matrix product and shifted sums (:mod:`.narrow_conv`), everywhere, being nearer
  float64 than the direct convolution; and instance norm in a form that keeps the
  channels-last layout.

Modules opt in to the folding by naming their (convolution, batch norm) pairs in
``CONV_NORM_PAIRS`` (the norm must apply to that convolution's output and to nothing
else); every :class:`~.blocks.UpBlock` gets the phase form.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import UpBlock, is_dense_3x3, keeps_float32
from .narrow_conv import few_output_form
from .winograd import F4, TileScheme, winograd_form


def fold_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    """Make ``conv`` compute ``norm(conv(x))`` (eval-mode statistics), in place.

    ``w' = w·γ/√(σ²+ε)``, ``b' = (b − μ)·γ/√(σ²+ε) + β``, all in float64 and each
    result rounded once; the weights scaled where they are (no second copy of a large
    model).
    """
    assert norm.running_mean is not None and norm.running_var is not None
    scale = norm.running_var.double().add(norm.eps).rsqrt()
    if norm.affine:
        scale = scale * norm.weight.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - norm.running_mean.double()) * scale
    if norm.affine:
        bias = bias + norm.bias.double()
    with torch.no_grad():
        # Each weight rounded once, from its float64 product (a float32 factor would add
        # a rounding shared by a whole output channel); a few channels at a time.
        weight = conv.weight
        step = max(1, (1 << 18) // max(1, weight[0].numel()))
        for start in range(0, weight.shape[0], step):
            block = weight[start : start + step]
            factors = scale[start : start + step].view(-1, 1, 1, 1)
            block.copy_(block.double() * factors)
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


def conv3x3_as_matmul(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """A 3×3, padding-1 convolution of a small map as one matrix product of its 3×3
    patches (``B·H·W × 9·I``) with a channels-last ``weight`` read in place as
    ``O × 9·I``; the result is channels-last.

    On the 8×8 and 4×4 bottoms of the hourglasses oneDNN's direct kernel has too few
    pixels to keep its vector lanes busy: the 2048→512 convolution at 8×8 of the dense
    motion and keypoint decoders took 25 ms, as a matmul 10 (2 threads).
    """
    batch, channels, height, width = x.shape
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # B×(H+2)×(W+2)×I
    patches = padded.unfold(1, 3, 1).unfold(2, 3, 1)  # B×H×W×I×3×3
    patches = patches.permute(0, 1, 2, 4, 5, 3).reshape(batch * height * width, 9 * channels)
    kernels = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)  # a view: O×(3·3·I)
    out = patches @ kernels.T if bias is None else torch.addmm(bias, patches, kernels.T)
    return out.view(batch, height, width, -1).permute(0, 3, 1, 2)


class NearestUpsampleConv(nn.Module):
    """``conv(interpolate(x, scale_factor=2, mode="nearest"))`` for a 3×3, padding-1,
    stride-1 ``conv``, without the upsampled copy: ``B×I×H×W`` → ``B×O×2H×2W``.

    Output row ``2i+a`` reads upsampled rows ``2i+a−1 … 2i+a+1``, that is input rows
    ``i−1, i`` (a=0: taps 0 | 1+2) or ``i, i+1`` (a=1: taps 0+1 | 2); columns likewise.

    The four 2×2 kernels hold 16/9 of the weights, so they are made on the first input
    of at least ``MIN_PIXELS`` (where they pay: oneDNN runs them slower than the 3×3
    kernel on the 2×2 and 4×4 bottom of a hourglass, whose 1024–2048-channel weights are
    the largest), and then replace the 3×3 weights: one copy of a layer's weights is
    kept, whichever form it runs in (16 MiB less for FOMM). They are non-persistent
    buffers, outside the state dict.
    """

    MIN_PIXELS = 64

    weight: torch.Tensor | None

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not is_dense_3x3(conv):
            raise ValueError("only a dense 3×3 convolution with stride 1 and zero padding 1")
        self.out_channels = conv.out_channels
        # The conv's own tensors (shared, not copied) for the plain path, until the
        # phase kernels replace the weights.
        self.register_buffer("weight", conv.weight.detach(), persistent=False)
        bias = None if conv.bias is None else conv.bias.detach()
        self.register_buffer("bias", bias, persistent=False)
        self.kernels: list[torch.Tensor] | None = None

    def _make_kernels(self) -> list[torch.Tensor]:
        # Keep the weights' memory format (channels-last kernels for channels-last input).
        weight = self.weight
        assert weight is not None
        layout = torch.contiguous_format if weight.is_contiguous() else torch.channels_last
        out_channels, in_channels = weight.shape[:2]
        kernels = [
            torch.empty(
                (out_channels, in_channels, 2, 2),
                dtype=weight.dtype,
                device=weight.device,
                memory_format=layout,
            )
            for _ in PHASES
        ]
        # A few output channels at a time: the float64 sums of a whole 1024-channel layer
        # were the job's peak memory (a transient of 4× its weights).
        step = max(1, (1 << 20) // (in_channels * 9))
        for start in range(0, out_channels, step):
            block = weight[start : start + step]
            for kernel, (a, b) in zip(kernels, PHASES, strict=True):
                kernel[start : start + step] = phase_kernel(block, a, b)
        self.weight = None
        return kernels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        if self.kernels is None and height * width < self.MIN_PIXELS:
            assert self.weight is not None
            upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
            if x.device.type == "cpu" and self.weight.is_contiguous(
                memory_format=torch.channels_last
            ):
                return conv3x3_as_matmul(upsampled, self.weight, self.bias)
            return F.conv2d(upsampled, self.weight, self.bias, padding=1)
        if self.kernels is None:
            self.kernels = self._make_kernels()
        out: torch.Tensor | None = None
        for (a, b), kernel in zip(PHASES, self.kernels, strict=True):
            # Padding 1 gives (H+1)×(W+1) outputs, input rows r−1…r for output r: this
            # phase's are those from (a, b). Cheaper than slicing a padded copy of x.
            full = F.conv2d(x, kernel, self.bias, padding=1)
            phase = full[:, :, a : a + height, b : b + width]
            if out is None:
                # The layout the plain convolution would give (channels-last weights make
                # channels-last outputs even from a contiguous input, e.g. after a warp).
                layout = (
                    torch.channels_last
                    if full.is_contiguous(memory_format=torch.channels_last)
                    else torch.contiguous_format
                )
                out = torch.empty(
                    (batch, self.out_channels, 2 * height, 2 * width),
                    dtype=phase.dtype,
                    device=phase.device,
                    memory_format=layout,
                )
            out[:, :, a::2, b::2] = phase
        assert out is not None
        return out


def fold_batch_norms(
    model: nn.Module, skip: Callable[[nn.Module], bool] = lambda module: False
) -> int:
    """Fold every eval-mode batch norm a module declares in ``CONV_NORM_PAIRS`` (and
    every ``Sequential(conv, batch norm)``) into its convolution, replacing the norm by
    an identity, except inside modules for which ``skip`` is true. Returns how many were
    folded."""
    folded = 0
    skipped = {id(m) for parent in model.modules() if skip(parent) for m in parent.modules()}
    for module in model.modules():
        if id(module) in skipped:
            continue
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


class InstanceNormForInference(nn.Module):
    """An affine instance norm that keeps its input's memory format.

    PyTorch's instance norm reshapes its input to ``1×(B·C)×H×W``, which for a
    channels-last map means a copy in and a contiguous result that the next
    (channels-last) convolution copies back: three passes over the map around the norm
    itself, 11% of a TPSMM frame. Per sample, instance norm *is* batch norm with the
    batch's own statistics, and PyTorch's batch norm has a channels-last kernel.
    """

    def __init__(self, norm: nn.InstanceNorm2d):
        super().__init__()
        if not norm.affine or norm.track_running_stats:
            raise ValueError("only an affine instance norm without running statistics")
        self.weight = norm.weight
        self.bias = norm.bias
        self.eps = norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        samples = [
            F.batch_norm(x[i : i + 1], None, None, self.weight, self.bias, True, 0.0, self.eps)
            for i in range(x.shape[0])
        ]
        return samples[0] if len(samples) == 1 else torch.cat(samples)


def _replace_children(
    model: nn.Module,
    replace: Callable[[nn.Module], nn.Module | None],
    skip: Callable[[nn.Module], bool] = lambda module: False,
) -> None:
    """Swap every submodule for ``replace(submodule)`` where that is not None, except
    inside modules for which ``skip`` is true."""
    skipped = {id(m) for parent in model.modules() if skip(parent) for m in parent.modules()}
    for parent in list(model.modules()):
        if id(parent) in skipped:
            continue
        for name, child in list(parent.named_children()):
            new = replace(child)
            if new is not None:
                setattr(parent, name, new)


def prepare_for_inference(
    model: nn.Module,
    *,
    winograd_min_channels: int = 128,
    cpu_rewrites: bool = True,
    winograd_scheme: TileScheme = F4,
    fast: bool = False,
) -> nn.Module:
    """Apply the rewrites to an eval-mode ``model`` in place (its weights in their final
    device and memory format) and return it.

    On the CPU also: every 3×3 convolution at least ``winograd_min_channels`` wide on
    both sides runs by Winograd (``winograd_scheme``, :mod:`.winograd`), except in the networks
    that end in a sharp softmax (keypoints, dense motion: `blocks.keeps_float32`), where
    its slightly larger rounding moves keypoints measurably; the 7×7 convolutions with
    1–3 outputs by shifted sums (:mod:`.narrow_conv`); instance norms keep the
    channels-last layout; and the networks that declare ``FLOAT64_ON_CPU`` compute in
    float64 (`computes_in_float64`) (``cpu_rewrites=False`` leaves all four out).

    ``fast`` (opt-in, less exact than the original's float32 run): batch norms folded
    inside the precision-sensitive networks too, and no float64. See
    docs/engine-exactness.md for each rewrite's error and speed.

    The model stays an inference model afterwards: its batch norms are gone from the
    state dict, and so are the up blocks' ``conv`` and the convolutions computed by
    Winograd or by shifted sums (one copy of every weight is kept, in the form it runs in).
    """
    if model.training:
        raise ValueError("prepare_for_inference needs a model in eval mode")
    # Not inside the precision-sensitive networks (keypoints, dense motion): there the
    # folded weights' different rounding moved FOMM's reference predictions 1.5-2.4× as
    # far from float64 as the original's float32 run (unfolded: the same distance).
    fold_batch_norms(model, skip=lambda module: not fast and keeps_float32(module))
    for module in model.modules():
        if isinstance(module, UpBlock) and module.conv is not None:
            module.upsampled_conv = NearestUpsampleConv(module.conv)
            module.conv = None
    on_cpu = all(p.device.type == "cpu" for p in model.parameters())
    if on_cpu and cpu_rewrites:

        def instance_norm(child: nn.Module) -> nn.Module | None:
            if type(child) is nn.InstanceNorm2d and child.affine:
                return InstanceNormForInference(child)
            return None

        winograd = winograd_form(winograd_min_channels, winograd_scheme)
        _replace_children(model, winograd, skip=keeps_float32)
        # Everywhere: nearer float64 than the direct convolution, so also inside the
        # precision-sensitive networks (TPSMM's occlusion heads).
        _replace_children(model, few_output_form)
        _replace_children(model, instance_norm)
        if not fast:
            computes_in_float64(model)
    return model


class _Float64Conv2d(nn.Conv2d):
    """A convolution computing in its input's dtype from weights stored as they are."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return self._conv_forward(x, self.weight.to(x.dtype), bias)


class _Float64BatchNorm2d(nn.BatchNorm2d):
    """An eval-mode batch norm computing in its input's dtype (statistics cast per call)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.running_mean is not None and self.running_var is not None
        weight = None if self.weight is None else self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        mean, var = self.running_mean.to(x.dtype), self.running_var.to(x.dtype)
        return F.batch_norm(x, mean, var, weight, bias, False, 0.0, self.eps)


class _Float64Linear(nn.Linear):
    """A linear layer computing in its input's dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, self.weight.to(x.dtype), bias)


# Each layer type a FLOAT64_ON_CPU network may hold → its form that computes in the
# input's dtype: the same module (parameters, state-dict names) with another forward.
_INPUT_DTYPE_FORMS: dict[type[nn.Module], type[nn.Module]] = {
    nn.Conv2d: _Float64Conv2d,
    nn.BatchNorm2d: _Float64BatchNorm2d,
    nn.Linear: _Float64Linear,
}


def _computing_in_input_dtype(layer: nn.Module) -> nn.Module | None:
    form = _INPUT_DTYPE_FORMS.get(type(layer))
    if form is None:
        # Already in its float64 form (a model prepared twice), or without weights.
        done = type(layer) in _INPUT_DTYPE_FORMS.values()
        if not done and any(True for _ in layer.parameters(recurse=False)):
            raise TypeError(f"no float64 form for {type(layer).__name__}")
        return None
    if isinstance(layer, nn.BatchNorm2d) and layer.training:
        raise ValueError("only an eval-mode batch norm computes in float64")
    twin = form.__new__(form)
    twin.__dict__.update(layer.__dict__)  # the same parameters and buffers, not copies
    return twin


# Inside the float64 networks, 3×3 convolutions at least this wide on maps of at least
# this many pixels run by Winograd F(4×4) in float64: its rounding there (1e-14 of the
# output) is far below float32's, and it computes a quarter of the products. TPSMM's
# ResNet-18 at 256²: the 64-channel layers at 64² took 2.8 ms against 7.8, the 128-channel
# ones at 32² 3.2 against 4.7; at 16² it was no faster.
FLOAT64_WINOGRAD_MIN_CHANNELS = 64
FLOAT64_WINOGRAD_MIN_PIXELS = 32 * 32


def computes_in_float64(model: nn.Module) -> int:
    """Make every module that declares ``FLOAT64_ON_CPU`` compute in float64, in place;
    returns how many. For small networks whose float32 rounding dominates the model's
    error (TPSMM's keypoint detector). Their wide 3×3 convolutions on the larger maps
    run by Winograd, in float64 (`FLOAT64_WINOGRAD_MIN_PIXELS`).

    The weights stay float32: each layer casts its own per call (one layer's float64
    copy at a time: 19 MB at most for TPSMM's ResNet-18, against 43 MB more for the
    whole network kept in float64, which put TPSMM's job over its memory budget; the
    casts cost about 1.5% of a frame, in turns). A float32 weight is a float64 number,
    so the result is that of the network in float64, up to float64's rounding (Winograd's
    included: 1e-14 of the keypoints). Such a module reads ``compute_dtype`` to cast its
    input.
    """
    converted = 0
    winograd = winograd_form(
        FLOAT64_WINOGRAD_MIN_CHANNELS, F4, min_pixels=FLOAT64_WINOGRAD_MIN_PIXELS
    )
    for module in model.modules():
        if getattr(module, "FLOAT64_ON_CPU", False):
            _replace_children(module, winograd)
            _replace_children(module, _computing_in_input_dtype)
            module.compute_dtype = torch.float64
            converted += 1
    return converted
