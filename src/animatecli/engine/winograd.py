"""3×3 convolutions by Winograd's minimal filtering F(4×4, 3×3), for the CPU.

A direct 3×3 convolution spends 9 multiply-adds per output pixel and channel pair. On
6×6 input tiles (stride 4) Winograd's transform spends 36 per 16 outputs, 2.25: the
products become 36 independent ``(tiles × in) @ (in × out)`` matrix products, which run
at this CPU's matmul peak. The input and output transforms are small fixed matrices
(Lavin & Gray, 2016, points 0, ±1, ±2, ±½, ∞). On the wide 3×3 convolutions of the two
families (FOMM's generator bottleneck, 256 channels at 64², TPSMM's inpainting
residual blocks, 256–512 channels at 64² and 128²) it takes 0.5–0.75 of the direct
convolution's time (2 threads).

Precision: the transforms' constants up to 8 make the rounding of a float32 result
about four times the direct convolution's (5e-5 against 1.7e-5 absolute on outputs of
magnitude 10, both against float64), far inside the parity tolerances.

Pure torch, no I/O. Inference only (`inference.prepare_for_inference` installs it).
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import is_dense_3x3

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


# Scratch buffers per thread, grown to the largest convolution seen and reused: the
# kernels of a group of tile points, the padded map and the tiles of one chunk
# (allocating and page-faulting blocks of tens of MB on every call cost a third of the
# time).
_scratch = threading.local()


def _scratch_buffers(sizes: tuple[int, ...], like: torch.Tensor) -> list[torch.Tensor]:
    # Inference tensors may not be written outside inference mode: one set per mode.
    key = torch.is_inference_mode_enabled()
    sets: dict[bool, list[torch.Tensor]] = _scratch.__dict__.setdefault("sets", {})
    buffers = sets.get(key, [])
    if len(buffers) != len(sizes) or any(
        b.numel() < n or b.dtype != like.dtype for b, n in zip(buffers, sizes, strict=True)
    ):
        buffers = [like.new_empty(n) for n in sizes]
        sets[key] = buffers
    return buffers


class WinogradConv3x3(nn.Module):
    """A 3×3, padding-1, stride-1 dense convolution computed by F(4×4, 3×3) on the CPU.

    Inputs of at least ``MIN_PIXELS`` with sides multiples of 4 take the transform;
    smaller or odd-sized maps, CUDA or non-float32 inputs and inputs that need gradients
    take the direct convolution (a layer that only ever sees those keeps the
    convolution's weights as they were).

    The transformed kernels (36×I×O, 4× the 3×3 ones) are never stored: each call makes
    them six tile points at a time, one 6×9 by 9×(I·O) product from the kernels kept
    tap-major, into a small scratch that is still in cache when the six matching
    matrix products read it. Storing them would cost 85 MB for FOMM and 140 MB for
    TPSMM; making all 36 at once (9–38 MB written per call) cost 8% of a FOMM frame.
    The tiles go through in chunks of about ``CHUNK_TILES``, which bounds the scratch
    memory. The output is channels-last, the layout every following layer of these
    networks runs fastest in.
    """

    # 64²: FOMM's generator bottleneck (256 channels), TPSMM's inpainting blocks at 64²
    # and 128². On smaller maps the kernels' per-call transform eats most of the gain
    # (TPSMM's 512-channel blocks at 32² and 16²: no measurable difference).
    MIN_PIXELS = 64 * 64
    CHUNK_TILES = 128
    GROUP = TILE  # tile points whose kernels are made and used together

    weight: torch.Tensor | None
    taps: torch.Tensor | None
    bias: torch.Tensor | None

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not is_dense_3x3(conv):
            raise ValueError("only a dense 3×3 convolution with stride 1 and zero padding 1")
        self.out_channels, self.in_channels = conv.weight.shape[:2]
        # The kernels are kept once: as the convolution's ``weight`` until the first
        # input that takes the transform, then as ``taps`` (9×I×O, tap-major). Non-
        # persistent buffers: the state dict stays the model's.
        self.register_buffer("weight", conv.weight.detach(), persistent=False)
        self.register_buffer("taps", None, persistent=False)
        bias = None if conv.bias is None else conv.bias.detach()
        self.register_buffer("bias", bias, persistent=False)
        # Each 2-D transform as one matrix: kron(G, G) makes a kernel's flattened 6×6
        # transform from its 9 taps (36×9), kron(Bᵀ, Bᵀ) transforms a row-major flattened
        # 6×6 tile (36×36), kron(Aᵀ, Aᵀ) makes its 4×4 outputs (16×36).
        kernel, input_t, output_t = _matrix(_KERNEL), _matrix(_INPUT_T), _matrix(_OUTPUT_T)
        self.register_buffer("kernel_t", torch.kron(kernel, kernel).float(), False)
        self.register_buffer("input_t", torch.kron(input_t, input_t).float(), False)
        self.register_buffer("output_t", torch.kron(output_t, output_t).float(), False)

    def direct_weight(self) -> torch.Tensor:
        """The ``O×I×3×3`` kernels (a strided view of the taps once they replaced them)."""
        if self.weight is not None:
            return self.weight
        assert self.taps is not None
        return self.taps.view(3, 3, self.in_channels, self.out_channels).permute(3, 2, 0, 1)

    def _taps(self) -> torch.Tensor:
        if self.taps is None:
            assert self.weight is not None
            self.taps = self.weight.permute(2, 3, 1, 0).reshape(9, -1).contiguous()
            self.weight = None
        return self.taps

    def takes(self, x: torch.Tensor) -> bool:
        """Whether ``x`` goes through the transform (else the direct convolution)."""
        height, width = x.shape[-2:]
        return (
            x.device.type == "cpu"
            and x.dtype == self.direct_weight().dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad)
            and height % STEP == 0
            and width % STEP == 0
            and height * width >= self.MIN_PIXELS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.takes(x):
            return F.conv2d(x, self.direct_weight(), self.bias, padding=1)
        taps = self._taps()
        batch, channels, height, width = x.shape
        out_channels, points, group = self.out_channels, TILE * TILE, self.GROUP
        rows, columns = height // STEP, width // STEP
        chunk_rows = max(1, min(rows, self.CHUNK_TILES // (batch * columns)))
        most_tiles = batch * chunk_rows * columns
        widest = max(channels, out_channels)
        kernels, framed, first, second = _scratch_buffers(
            (
                group * channels * out_channels,
                batch * (height + 2) * (width + 2) * channels,
                points * most_tiles * widest,
                points * most_tiles * widest,
            ),
            x,
        )
        group_kernels = kernels[: group * channels * out_channels].view(
            group, channels, out_channels
        )

        # The map zero-padded by one pixel, B×(H+2)×(W+2)×C: only the frame is zeroed.
        padded = framed[: batch * (height + 2) * (width + 2) * channels]
        padded = padded.view(batch, height + 2, width + 2, channels)
        for edge in (padded[:, 0], padded[:, -1], padded[:, :, 0], padded[:, :, -1]):
            edge.zero_()
        padded[:, 1:-1, 1:-1].copy_(x.permute(0, 2, 3, 1))
        result = x.new_empty((batch, height, width, out_channels))
        placed = result.view(batch, rows, STEP, columns, STEP, out_channels)
        for top in range(0, rows, chunk_rows):
            count = min(chunk_rows, rows - top)
            tiles = batch * count * columns
            # This chunk's overlapping 6×6 tiles, gathered tile-position-major
            # (6×6×tiles×C), so that each step below is one contiguous matrix product.
            band = padded[:, STEP * top : STEP * (top + count) + TILE - STEP]
            windows = band.unfold(1, TILE, STEP).unfold(2, TILE, STEP)  # B×n×c×C×6×6
            gathered = first[: points * tiles * channels]
            gathered.view(TILE, TILE, batch, count, columns, channels).copy_(
                windows.permute(4, 5, 0, 1, 2, 3)
            )
            spectra = second[: points * tiles * channels].view(points, -1)
            torch.mm(self.input_t, gathered.view(points, -1), out=spectra)
            products = first[: points * tiles * out_channels].view(points, tiles, out_channels)
            spectra_by_point = spectra.view(points, tiles, channels)
            for start in range(0, points, group):
                chosen = slice(start, start + group)
                torch.mm(self.kernel_t[chosen], taps, out=group_kernels.view(group, -1))
                torch.bmm(spectra_by_point[chosen], group_kernels, out=products[chosen])
            outputs = second[: STEP * STEP * tiles * out_channels].view(STEP * STEP, -1)
            torch.mm(self.output_t, products.view(points, -1), out=outputs)
            # Scatter the 4×4 output tiles into the channels-last result, adding the bias.
            tiled = outputs.view(STEP, STEP, batch, count, columns, out_channels)
            tiled = tiled.permute(2, 3, 0, 4, 1, 5)
            destination = placed[:, top : top + count]
            if self.bias is None:
                destination.copy_(tiled)
            else:
                torch.add(tiled, self.bias, out=destination)
        return result.permute(0, 3, 1, 2)


def winograd_eligible(conv: nn.Module, min_channels: int) -> bool:
    """Whether ``conv`` is a dense 3×3, stride-1, padding-1 convolution at least
    ``min_channels`` wide on both sides (narrower ones run faster directly)."""
    return is_dense_3x3(conv) and min(conv.in_channels, conv.out_channels) >= min_channels
