"""3×3 convolutions by Winograd's minimal filtering F(m×m, 3×3), for the CPU.

A direct 3×3 convolution spends 9 multiply-adds per output pixel and channel pair.
Winograd's F(m×m, 3×3) on (m+2)² input tiles (stride m) spends (m+2)² per m² outputs:
the products become (m+2)² independent ``(tiles × in) @ (in × out)`` matrix products,
which run at this CPU's matmul peak. The input, kernel and output transforms are
Toom–Cook's for m+1 finite interpolation points and ∞, built here from the points, in
exact rational arithmetic.

Precision decides the points and the tile (measured on 256-channel layers at 64²,
against float64, float32 direct channels-last convolution max 2.7e-6, mean 1.7e-7):

* **F(4×4, 3×3)**, points 0, ±1, ½, −2, ∞ (2.25 multiply-adds per output; Barabasz,
  Anderson, Soodhalter and Gregg, ACM TOMS 2020, on the choice of points): max 4.6e-6,
  mean 3.8e-7, 2× the direct convolution's speed. The default: at the model's output its
  rounding is lost among the other layers' (docs/engine.md: the default path ends nearer
  the float64 truth than the original's float32 run). The common points 0, ±1, ±2, ∞
  (Lavin & Gray) round three times worse at the same speed: 1.5e-5 max, 4.8e-7 mean.
* **F(2×2, 3×3)**, points 0, ±1, ∞ (4 multiply-adds per output): max 7.8e-7, mean
  1.0e-7, more exact than the direct convolution, 1.4× its speed.

The kernel transform is exact in float64 and then applied in float32 per call: applying
it in float64 (the kernels rounded once) changed the error by 3%, not worth its time.

Pure torch, no I/O. Inference only (`inference.prepare_for_inference` installs it).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import is_dense_3x3

KERNEL_SIZE = 3


def _polynomial(roots: list[Fraction]) -> list[Fraction]:
    """Coefficients (ascending powers) of ∏ (x − root)."""
    coefficients = [Fraction(1)]
    for root in roots:
        shifted = [Fraction(0), *coefficients]  # x · p(x)
        for power in range(len(coefficients)):
            shifted[power] -= root * coefficients[power]
        coefficients = shifted
    return coefficients


def toom_cook(
    points: tuple[Fraction, ...], outputs: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Aᵀ, G, Bᵀ)`` of F(outputs, 3) for the finite ``points`` and ∞, exact in
    rationals, returned in float64: ``y = Aᵀ[(G·g) ⊙ (Bᵀ·d)]`` is the correlation of a
    tile ``d`` (outputs+2 samples) with a kernel ``g`` (3 taps)."""
    size = outputs + KERNEL_SIZE - 1
    if len(points) != size - 1 or len(set(points)) != len(points):
        raise ValueError(f"F({outputs}, 3) needs {size - 1} distinct finite points")
    output_t = [[p**k for p in points] + [Fraction(int(k == outputs - 1))] for k in range(outputs)]
    kernel = []
    for i, p in enumerate(points):
        weight = Fraction(1)
        for j, q in enumerate(points):
            if j != i:
                weight *= p - q
        kernel.append([p**t / weight for t in range(KERNEL_SIZE)])
    kernel.append([Fraction(int(t == KERNEL_SIZE - 1)) for t in range(KERNEL_SIZE)])
    input_t = []
    for i in range(len(points)):
        row = _polynomial([q for j, q in enumerate(points) if j != i])
        input_t.append(row + [Fraction(0)] * (size - len(row)))
    input_t.append(_polynomial(list(points)))

    def tensor(rows: list[list[Fraction]]) -> torch.Tensor:
        return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)

    return tensor(output_t), tensor(kernel), tensor(input_t)


@dataclass(frozen=True)
class TileScheme:
    """A Winograd F(outputs×outputs, 3×3) with its interpolation points (∞ implied)."""

    name: str
    outputs: int
    points: tuple[Fraction, ...]

    @property
    def tile(self) -> int:
        return self.outputs + KERNEL_SIZE - 1


HALF = Fraction(1, 2)
# The default: 2× the direct convolution's speed, rounding about twice its (the best
# points of TOMS 2020).
F4 = TileScheme("F(4x4,3x3)", 4, (Fraction(0), Fraction(1), Fraction(-1), HALF, Fraction(-2)))
# Rounds less than the direct convolution, at 1.4× its speed.
F2 = TileScheme("F(2x2,3x3)", 2, (Fraction(0), Fraction(1), Fraction(-1)))
# The common points, kept to measure against (3× F4's rounding at the same speed).
LAVIN = TileScheme(
    "F(4x4,3x3) 0,±1,±2", 4, (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2))
)
SCHEMES = {scheme.name: scheme for scheme in (F4, F2, LAVIN)}


# Scratch buffers per thread, grown to the largest convolution seen and reused: the
# kernels of a group of tile points, the padded map and the tiles of one chunk
# (allocating and page-faulting blocks of tens of MB on every call cost a third of the
# time).
_scratch = threading.local()


def _scratch_buffers(sizes: tuple[int, ...], like: torch.Tensor) -> list[torch.Tensor]:
    """Buffers of at least ``sizes`` elements of ``like``'s dtype, this thread's."""
    # Inference tensors may not be written outside inference mode: one set per mode. The
    # set is bytes, viewed in each call's dtype: TPSMM's float64 keypoint detector and
    # the float32 networks around it take turns on the same memory (12 MiB less than a
    # float64 set of its own).
    key = torch.is_inference_mode_enabled()
    sets: dict[bool, list[torch.Tensor]] = _scratch.__dict__.setdefault("sets", {})
    itemsize = like.element_size()
    wanted = [n * itemsize for n in sizes]
    buffers = sets.get(key, [])
    if len(buffers) != len(wanted):
        buffers = [like.new_empty(n, dtype=torch.uint8) for n in wanted]
    else:
        # Each buffer grows to the largest size any layer asked of it: remade to the
        # current call's sizes, layers that need more of one and less of another would
        # reallocate them on every frame (tens of MB each time, a TPSMM frame's heap
        # grew by that churn).
        buffers = [
            b if b.numel() >= n else like.new_empty(n, dtype=torch.uint8)
            for b, n in zip(buffers, wanted, strict=True)
        ]
    sets[key] = buffers
    return [b[: b.numel() // itemsize * itemsize].view(like.dtype) for b in buffers]


def _padded_band(
    image: torch.Tensor, first: int, count: int, scratch: torch.Tensor, most: int
) -> torch.Tensor:
    """Rows ``first … first+count−1`` of the channels-last ``image`` (B×H×W×C) zero-padded
    by one pixel on every side, as a B×count×(W+2)×C view of ``scratch`` (laid out for
    ``most`` rows, so every band of a call uses the same strides): row −1 and row H
    are the padding. Only the frame is zeroed."""
    batch, height, width, channels = image.shape
    band = scratch[: batch * most * (width + 2) * channels]
    band = band.view(batch, most, width + 2, channels)[:, :count]
    band[:, :, 0].zero_()
    band[:, :, -1].zero_()
    start, stop = max(first, 0), min(first + count, height)  # the rows the image has
    above, below = start - first, stop - first  # where they land in the band
    band[:, above:below, 1:-1].copy_(image[:, start:stop])
    band[:, :above].zero_()
    band[:, below:].zero_()
    return band


# The dtypes the transform computes in: float32, and float64 for the networks that
# compute in it on the CPU (`inference.computes_in_float64`), where its rounding is far
# below float32's.
COMPUTE_DTYPES = (torch.float32, torch.float64)


@functools.cache
def _transforms(
    scheme: TileScheme, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(kron(G, G), Bᵀ, Aᵀ)`` of ``scheme`` in ``dtype``, shared by every layer.

    The kernel transform is one matrix: kron(G, G) makes a kernel's flattened 6×6
    transform from its 9 taps (36×9). In float32 for float32 layers: in float64 (the
    kernels rounded once) it moved the layer's error by 3%, not worth its time per call.

    The tiles' transforms go one dimension at a time, Bᵀ (6×6) and Aᵀ (4×6) on rows and
    then on columns (`_transform_2d`): a third of the multiplications of the 2-D matrices
    kron(Bᵀ, Bᵀ) (36×36) and kron(Aᵀ, Aᵀ) (16×36), whose products MKL ran at a third of
    its peak (36×36 on 65,536 columns: 2.9 ms, one dimension at a time 1.1); the same
    error against float64 (256 channels at 128²: mean 2.15e-7 against 2.24e-7, max
    3.19e-6 against 3.15e-6).
    """
    output_t, kernel, input_t = toom_cook(scheme.points, scheme.outputs)
    return torch.kron(kernel, kernel).to(dtype), input_t.to(dtype), output_t.to(dtype)


def _transform_2d(
    matrix: torch.Tensor, tiles: torch.Tensor, between: torch.Tensor, out: torch.Tensor, n: int
) -> torch.Tensor:
    """``matrix · tile · matrixᵀ`` (``matrix`` r×t) for every tile of ``tiles``, laid
    out position-major (t×t×n: the n values at each of a t×t tile's positions), as an
    (r·r)×n view of ``out``: on the tiles' rows, then on their columns (``between``
    holds the r×t×n middle; ``tiles`` may share memory with ``out``)."""
    size, tile = matrix.shape
    rows = between[: size * tile * n].view(size, tile * n)
    torch.mm(matrix, tiles.reshape(tile, tile * n), out=rows)
    result = out[: size * size * n].view(size, size, n)
    torch.matmul(matrix, rows.view(size, tile, n), out=result)
    return result.view(size * size, n)


class WinogradConv3x3(nn.Module):
    """A 3×3, padding-1, stride-1 dense convolution computed by Winograd's F(m×m, 3×3)
    (``scheme``: :data:`F4` F(4×4), the default, or :data:`F2` F(2×2)) on the CPU.

    Inputs of at least ``min_pixels`` (default ``MIN_PIXELS``) with sides multiples of m
    take the transform, in the input's dtype (float32, or float64 from the float32
    weights); smaller or odd-sized maps, CUDA inputs, other dtypes and inputs that need
    gradients take the direct convolution (a layer that only ever sees those keeps the
    convolution's weights as they were).

    The transformed kernels ((m+2)²×I×O, 4× the 3×3 ones for F(4×4)) are never stored:
    each call makes them m+2 tile points at a time, one product from the kernels kept
    tap-major, into a small scratch that is still in cache when the six matching
    matrix products read it. Storing them would cost 85 MB for FOMM and 140 MB for
    TPSMM; making all 36 at once (9–38 MB written per call) cost 8% of a FOMM frame.
    The tiles go through in chunks of as many as fit ``CHUNK_FLOATS`` per scratch buffer
    (tile points × tiles × the wider side's channels), each padded as a band of rows:
    the scratch memory is bounded, and narrower layers get longer matrix products. The
    output is channels-last, the layout every following layer of these networks runs
    fastest in.
    """

    # 32²: FOMM's generator bottleneck (256 channels at 64²), TPSMM's inpainting blocks at
    # 32², 64² and 128². Its 512-channel 3×3 layers at 32² take 14 ms against 27 direct
    # (TPSMM's frames 0.94 of the time, paired in one process); at 16² the kernels'
    # per-call transform eats the gain (7.2 against 7.7 ms), at 8² it loses (35 against 26).
    MIN_PIXELS = 32 * 32
    # A chunk holds at most CHUNK_FLOATS per tile buffer and CHUNK_OUTPUTS output pixels:
    # 18 MiB of float32, 256 tiles of F(4×4) at 512 channels, so that TPSMM's
    # 512-channel maps at 64² go through in one chunk. Each chunk makes the kernels
    # again: in two chunks (half the floats) TPSMM's frames took 1.11–1.16× as long
    # (paired medians of 24 and 16 frames in turns in one process), though as long in the
    # fastest frames: the kernels' extra passes cost when the machine's memory is slow.
    # The outputs' cap (256 tiles of F(4×4), as before) keeps narrower layers' chunks,
    # and the scratch, where they were: without it FOMM's 256-channel encoder layer at
    # 128² grew FOMM's scratch by 19 MiB for no measured gain.
    CHUNK_FLOATS = 36 * 256 * 512
    CHUNK_OUTPUTS = 64 * 64

    weight: torch.Tensor | None
    taps: torch.Tensor | None
    bias: torch.Tensor | None

    def __init__(self, conv: nn.Conv2d, scheme: TileScheme = F4, *, min_pixels: int | None = None):
        super().__init__()
        self.scheme = scheme
        self.step, self.tile = scheme.outputs, scheme.tile
        self.group = self.tile  # tile points whose kernels are made and used together
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
        self._min_pixels = min_pixels  # None: the class's MIN_PIXELS

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
            and x.dtype in COMPUTE_DTYPES
            and self.direct_weight().dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad)
            and height % self.step == 0
            and width % self.step == 0
            and height * width >= (self._min_pixels or self.MIN_PIXELS)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Computes in its input's dtype, from weights kept in theirs (cast per call).
        bias = None if self.bias is None else self.bias.to(x.dtype)
        if not self.takes(x):
            return F.conv2d(x, self.direct_weight().to(x.dtype), bias, padding=1)
        taps = self._taps().to(x.dtype)
        kernel_t, input_t, output_t = _transforms(self.scheme, x.dtype)
        batch, channels, height, width = x.shape
        step, tile, group = self.step, self.tile, self.group
        out_channels, points = self.out_channels, tile * tile
        rows, columns = height // step, width // step
        widest = max(channels, out_channels)
        chunk_tiles = min(
            self.CHUNK_FLOATS // (points * widest), self.CHUNK_OUTPUTS // (step * step)
        )
        chunk_rows = max(1, min(rows, chunk_tiles // (batch * columns)))
        most_tiles = batch * chunk_rows * columns
        band_rows = step * chunk_rows + tile - step
        kernels, framed, first, second = _scratch_buffers(
            (
                group * channels * out_channels,
                batch * band_rows * (width + 2) * channels,
                points * most_tiles * widest,
                points * most_tiles * widest,
            ),
            x,
        )
        group_kernels = kernels[: group * channels * out_channels].view(
            group, channels, out_channels
        )
        image = x.permute(0, 2, 3, 1)  # B×H×W×C, a view
        result = x.new_empty((batch, height, width, out_channels))
        placed = result.view(batch, rows, step, columns, step, out_channels)
        for top in range(0, rows, chunk_rows):
            count = min(chunk_rows, rows - top)
            tiles = batch * count * columns
            # This chunk's rows of the map zero-padded by one pixel, B×rows×(W+2)×C
            # (a band, not the whole padded map: 17 MB less scratch on TPSMM's widest).
            band = _padded_band(
                image, step * top - 1, step * count + tile - step, framed, band_rows
            )
            # Its overlapping 6×6 tiles, gathered tile-position-major (6×6×tiles×C), so
            # that each step below is one contiguous matrix product.
            windows = band.unfold(1, tile, step).unfold(2, tile, step)  # B×n×c×C×t×t
            gathered = first[: points * tiles * channels]
            gathered.view(tile, tile, batch, count, columns, channels).copy_(
                windows.permute(4, 5, 0, 1, 2, 3)
            )
            # The two tile buffers take turns: the tiles' spectra land back in ``first``
            # (``second`` holding the transform's middle), the products in ``second``, the
            # outputs in ``second`` again (``first`` holding the middle).
            spectra = _transform_2d(input_t, gathered, second, first, tiles * channels)
            products = second[: points * tiles * out_channels].view(points, tiles, out_channels)
            spectra_by_point = spectra.view(points, tiles, channels)
            for start in range(0, points, group):
                chosen = slice(start, start + group)
                torch.mm(kernel_t[chosen], taps, out=group_kernels.view(group, -1))
                torch.bmm(spectra_by_point[chosen], group_kernels, out=products[chosen])
            outputs = _transform_2d(output_t, products, first, second, tiles * out_channels)
            # Scatter the 4×4 output tiles into the channels-last result, adding the bias.
            tiled = outputs.view(step, step, batch, count, columns, out_channels)
            tiled = tiled.permute(2, 3, 0, 4, 1, 5)
            destination = placed[:, top : top + count]
            if bias is None:
                destination.copy_(tiled)
            else:
                torch.add(tiled, bias, out=destination)
        return result.permute(0, 3, 1, 2)


def winograd_eligible(conv: nn.Module, min_channels: int) -> bool:
    """Whether ``conv`` is a dense 3×3, stride-1, padding-1 convolution at least
    ``min_channels`` wide on both sides (narrower ones run faster directly)."""
    return is_dense_3x3(conv) and min(conv.in_channels, conv.out_channels) >= min_channels


def winograd_form(
    min_channels: int, scheme: TileScheme = F4, *, min_pixels: int | None = None
) -> Callable[[nn.Module], WinogradConv3x3 | None]:
    """A replacement for `inference`'s module swaps: a module as a
    :class:`WinogradConv3x3` (``scheme``, ``min_pixels``) where it is
    :func:`winograd_eligible` at ``min_channels``, else None."""

    def form(module: nn.Module) -> WinogradConv3x3 | None:
        if isinstance(module, nn.Conv2d) and winograd_eligible(module, min_channels):
            return WinogradConv3x3(module, scheme, min_pixels=min_pixels)
        return None

    return form
