"""3×3 convolutions by Winograd's minimal filtering F(4×4, 3×3), for the CPU.

A direct 3×3 convolution spends 9 multiply-adds per output pixel and channel pair. On
6×6 input tiles (stride 4) Winograd's transform spends 36 per 16 outputs, 2.25: the
products become 36 independent ``(tiles × in) @ (in × out)`` matrix products, which run
at this CPU's matmul peak. The input and output transforms are small fixed matrices
(Lavin & Gray, 2016, points 0, ±1, ±2, ±½, ∞). On the wide 3×3 convolutions of the two
families (FOMM's generator bottleneck, 256 channels at 64², TPSMM's inpainting
residual blocks, 256–512 channels at 32²–128²) this halves the convolution's time.

Precision: the transforms' constants up to 8 make the rounding of a float32 result
about four times the direct convolution's (5e-5 against 1.7e-5 absolute on outputs of
magnitude 10, both against float64), far inside the parity tolerances.

Pure torch, no I/O. Inference only: the transformed kernels replace the 3×3 ones.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

TILE = 6  # input tile side
STEP = 4  # output tile side: tiles overlap by the kernel's 2 extra pixels

# Transforms of F(4×4, 3×3) (B^T: input, G: kernel, A^T: output), exact in float64.
_INPUT_T = (
    (4, 0, -5, 0, 1, 0),
    (0, -4, -4, 1, 1, 0),
    (0, 4, -4, -1, 1, 0),
    (0, -2, -1, 2, 1, 0),
    (0, 2, -1, -2, 1, 0),
    (0, 4, 0, -5, 0, 1),
)
_KERNEL = (
    (1 / 4, 0, 0),
    (-1 / 6, -1 / 6, -1 / 6),
    (-1 / 6, 1 / 6, -1 / 6),
    (1 / 24, 1 / 12, 1 / 6),
    (1 / 24, -1 / 12, 1 / 6),
    (0, 0, 1),
)
_OUTPUT_T = (
    (1, 1, 1, 1, 1, 0),
    (0, 1, -1, 2, -2, 0),
    (0, 1, 1, 4, 4, 0),
    (0, 1, -1, 8, -8, 1),
)


def _matrix(rows: tuple[tuple[float, ...], ...]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def transform_weight(weight: torch.Tensor) -> torch.Tensor:
    """``O×I×3×3`` kernels → ``36×I×O`` (``G·w·Gᵀ`` per kernel, flattened row-major),
    computed in float64 and returned in ``weight``'s dtype."""
    g = _matrix(_KERNEL).to(weight.device)
    u = g @ weight.double() @ g.T  # O×I×6×6
    return u.flatten(2).permute(2, 1, 0).contiguous().to(weight.dtype)


# A left inverse of G (rows 0, 5 and the difference of rows 1 and 2 give the three
# taps), with small integer entries so that recovering the kernels adds no rounding
# worth the name.
_KERNEL_INVERSE = ((4, 0, 0, 0, 0, 0), (0, -3, 3, 0, 0, 0), (0, 0, 0, 0, 0, 1))


def recover_weight(transformed: torch.Tensor) -> torch.Tensor:
    """The ``O×I×3×3`` kernels back from :func:`transform_weight`'s ``36×I×O``."""
    inverse = _matrix(_KERNEL_INVERSE).to(transformed.device)
    u = transformed.double().permute(2, 1, 0).unflatten(2, (TILE, TILE))  # O×I×6×6
    return (inverse @ u @ inverse.T).to(transformed.dtype)


# Two scratch buffers per thread, grown to the largest convolution seen: the transformed
# tiles of a 256-channel 128² map are 38 MB, and allocating (and page-faulting) such
# blocks on every call cost a third of the time.
_scratch = threading.local()


def _scratch_pair(numel: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Inference tensors may not be written outside inference mode: one pair per mode.
    key = torch.is_inference_mode_enabled()
    pairs: dict[bool, tuple[torch.Tensor, torch.Tensor]] = _scratch.__dict__.setdefault("pairs", {})
    pair = pairs.get(key)
    if pair is None or pair[0].numel() < numel or pair[0].dtype != like.dtype:
        pair = (like.new_empty(numel), like.new_empty(numel))
        pairs[key] = pair
    return pair


class WinogradConv3x3(nn.Module):
    """A 3×3, padding-1, stride-1 dense convolution computed by F(4×4, 3×3) on the CPU.

    The transformed kernels are 4× the size of the 3×3 ones, while the time saved grows
    with the map: they are made on the first input of at least ``MIN_PIXELS`` (sides
    multiples of 4) and then replace the 3×3 kernels, which are recovered from them if
    an input the transform does not take arrives later (smaller or odd-sized maps, CUDA
    or non-float32 inputs, inputs that need gradients). Below that size a layer keeps
    its 3×3 kernels and the direct convolution. The transform's output is channels-last,
    the layout every following layer of these networks runs fastest in.
    """

    # 64²: FOMM's generator bottleneck (256 channels), TPSMM's inpainting blocks at 64²
    # and 128²; its 512-channel blocks at 32² would gain 40 ms of a 1.1 s frame for
    # 113 MB more memory.
    MIN_PIXELS = 64 * 64

    weight: torch.Tensor | None
    transformed: torch.Tensor | None
    bias: torch.Tensor | None

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not winograd_eligible(conv, min_channels=1):
            raise ValueError("only a dense 3×3 convolution with stride 1 and zero padding 1")
        # Non-persistent buffers: an inference-only form, the state dict stays the model's.
        self.register_buffer("weight", conv.weight.detach(), persistent=False)
        self.register_buffer("transformed", None, persistent=False)
        bias = None if conv.bias is None else conv.bias.detach()
        self.register_buffer("bias", bias, persistent=False)
        # Both 2-D transforms as one matrix each: kron(Bᵀ, Bᵀ) acts on a row-major
        # flattened 6×6 tile (36×36), kron(Aᵀ, Aᵀ) makes its 4×4 outputs (16×36).
        input_t, output_t = _matrix(_INPUT_T), _matrix(_OUTPUT_T)
        self.register_buffer("input_t", torch.kron(input_t, input_t).float(), False)
        self.register_buffer("output_t", torch.kron(output_t, output_t).float(), False)

    def direct_weight(self) -> torch.Tensor:
        """The 3×3 kernels (recovered from the transformed ones if those replaced them)."""
        if self.weight is None:
            assert self.transformed is not None
            self.weight = recover_weight(self.transformed)
        return self.weight

    def takes(self, x: torch.Tensor) -> bool:
        """Whether ``x`` goes through the transform (else the direct convolution)."""
        height, width = x.shape[-2:]
        return (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad)
            and height % STEP == 0
            and width % STEP == 0
            and height * width >= self.MIN_PIXELS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.takes(x):
            return F.conv2d(x, self.direct_weight(), self.bias, padding=1)
        if self.transformed is None:
            self.transformed = transform_weight(self.direct_weight())
            self.weight = None  # one copy of the kernels, the one in use
        batch, channels, height, width = x.shape
        out_channels = self.transformed.shape[2]
        rows, columns = height // STEP, width // STEP
        tiles = batch * rows * columns
        points = TILE * TILE
        first, second = _scratch_pair(points * tiles * max(channels, out_channels), x)

        # Overlapping 6×6 tiles of the zero-padded map, gathered tile-position-major
        # (6×6×tiles×C), so that each step below is one contiguous matrix product.
        padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)
        windows = padded.unfold(1, TILE, STEP).unfold(2, TILE, STEP)  # B×r×c×C×6×6
        gathered = first[: points * tiles * channels]
        gathered.view(TILE, TILE, batch, rows, columns, channels).copy_(
            windows.permute(4, 5, 0, 1, 2, 3)
        )
        spectra = second[: points * tiles * channels].view(points, -1)
        torch.mm(self.input_t, gathered.view(points, -1), out=spectra)
        products = first[: points * tiles * out_channels].view(points, tiles, out_channels)
        torch.bmm(spectra.view(points, tiles, channels), self.transformed, out=products)
        outputs = second[: STEP * STEP * tiles * out_channels].view(STEP * STEP, -1)
        torch.mm(self.output_t, products.view(points, -1), out=outputs)

        # Scatter the 4×4 output tiles into a fresh channels-last map, adding the bias.
        result = x.new_empty((batch, height, width, out_channels))
        placed = result.view(batch, rows, STEP, columns, STEP, out_channels)
        tiled = outputs.view(STEP, STEP, batch, rows, columns, out_channels)
        tiled = tiled.permute(2, 3, 0, 4, 1, 5)
        if self.bias is None:
            placed.copy_(tiled)
        else:
            torch.add(tiled, self.bias, out=placed)
        return result.permute(0, 3, 1, 2)


def winograd_eligible(conv: nn.Module, min_channels: int) -> bool:
    """Whether ``conv`` is a dense 3×3, stride-1, padding-1 convolution at least
    ``min_channels`` wide on both sides (narrower ones run faster directly)."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and min(conv.in_channels, conv.out_channels) >= min_channels
    )
