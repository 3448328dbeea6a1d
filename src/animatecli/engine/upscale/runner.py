"""Run an upscaler over frames: one object owning the device, the precision and the tiling.

Pre- and post-processing are the ncnn runtime's (``esrgan-spec.md`` §5): each frame is
reflect-padded by 10 pixels before the network and the output cropped by 10 × scale;
:meth:`Upscaler.upscale_uint8` then clamps to [0, 1], scales by 255 and rounds.

Frames too large for the memory budget are cut into tiles. Each tile runs with
``overlap`` pixels of its neighbours around it (the frame's own border where there are
none) and only its core is kept, so a tile's output sees almost the context it would
see in one piece: the residual difference at the seams is measured in
``tests/engine/upscale/test_tiling.py`` and ``docs/upscaling.md``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..inference import NearestUpsampleConv
from ..winograd import WinogradConv3x3, winograd_eligible
from .nets import RRDBNet, UpscaleNet

REFLECT_PAD = 10  # the runtime's padding around every frame (input pixels)
# Context around each tile (input pixels). Measured on a real picture with 24-pixel tiles
# against one tile: the compact net is within 1 level from 16 on; RRDB (a much wider
# receptive field) differs by up to 8 levels at 16, 3 at 24 and 1 at 32.
DEFAULT_OVERLAP = {"compact": 16, "rrdb": 32}
# Peak working memory per input pixel at batch 1, float32 (measured by the peak resident
# growth of one large frame, rounded up): the compact net stays at the input's
# resolution until its last layer; RRDB's last convolutions run 64 channels at 16× the
# input's pixels.
BYTES_PER_PIXEL = {"compact": 2_500, "rrdb": 16_000}
DEFAULT_MEMORY_BUDGET = 1 << 30
# On the CPU Winograd F(4×4, 3×3) pays only for wide convolutions: on the compact net's
# 64→64 ones it took 2–4× the direct convolution's time (2 threads, 64² frames), and
# RRDB's dense convolutions give 32 channels. No layer of the released models is this
# wide; an official file with wider features gets it.
WINOGRAD_MIN_CHANNELS = 128


def prepare_upscaler(net: UpscaleNet, *, cpu_rewrites: bool = True) -> UpscaleNet:
    """Swap in the inference rewrites that pay for these networks, in place.

    RRDB's nearest-×2-then-conv pairs run in the phase form on any device (4 instead of 9
    multiply-adds per output pixel, no upsampled copy). On the CPU, with
    ``cpu_rewrites``, the 3×3 convolutions at least ``WINOGRAD_MIN_CHANNELS`` wide on both
    sides run by Winograd (its input sides must be multiples of 4, else it falls back).
    """
    if isinstance(net, RRDBNet):
        for name in ("conv_up1", "conv_up2"):
            conv = getattr(net, name)
            if isinstance(conv, nn.Conv2d):
                setattr(net, name, NearestUpsampleConv(conv))
    on_cpu = all(p.device.type == "cpu" for p in net.parameters())
    if on_cpu and cpu_rewrites:
        for module in list(net.modules()):
            for name, child in list(module.named_children()):
                if winograd_eligible(child, WINOGRAD_MIN_CHANNELS):
                    assert isinstance(child, nn.Conv2d)
                    setattr(module, name, WinogradConv3x3(child))
    return net


def _spans(length: int, core: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(core start, core end, context start, context end) along one axis."""
    spans = []
    for start in range(0, length, core):
        end = min(length, start + core)
        spans.append((start, end, max(0, start - overlap), min(length, end + overlap)))
    return spans


class Upscaler:
    """Upscale ``N×3×H×W`` frames with one network on one device.

    ``half``: float16 weights and activations (default: on CUDA); the frames come back
    float32 either way. The network runs channels-last. ``tile``: the tile side in input
    pixels (default: the largest that keeps a batch within ``memory_budget`` bytes);
    ``overlap``: context pixels around each tile (default: per network, ``DEFAULT_OVERLAP``).
    """

    def __init__(
        self,
        net: UpscaleNet,
        *,
        device: str | torch.device = "cpu",
        half: bool | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        cpu_rewrites: bool = True,
    ):
        self.device = torch.device(device)
        self.half = self.device.type == "cuda" if half is None else half
        if self.half and self.device.type != "cuda":
            raise ValueError("float16 upscaling is for CUDA devices")
        if tile is not None and tile < 8:
            raise ValueError(f"tile side {tile} is too small (at least 8)")
        if overlap is None:
            overlap = DEFAULT_OVERLAP[net.config.kind]
        if overlap < 0:
            raise ValueError("overlap must be >= 0")
        self.config = net.config
        self.unshuffle = net.config.unshuffle
        self.tile = tile
        self.overlap = self._multiple(overlap)
        self.memory_budget = memory_budget
        net = net.to(self.device, torch.float16 if self.half else torch.float32)
        net = net.to(memory_format=torch.channels_last)
        self.net = prepare_upscaler(net.eval(), cpu_rewrites=cpu_rewrites)

    @property
    def scale(self) -> int:
        return self.config.output_scale

    def _multiple(self, value: int) -> int:
        """``value`` rounded up to the unshuffle factor (tiles must split evenly)."""
        return -(-value // self.unshuffle) * self.unshuffle

    def _bytes_per_pixel(self, batch: int) -> int:
        return BYTES_PER_PIXEL[self.config.kind] * batch * (2 if self.half else 4) // 4

    def fits_whole(self, height: int, width: int, batch: int) -> bool:
        """Whether a batch of padded ``height``×``width`` frames runs in one piece."""
        if self.tile is not None:
            return height <= self.tile and width <= self.tile
        return height * width * self._bytes_per_pixel(batch) <= self.memory_budget

    def tile_side(self, batch: int) -> int:
        """The core side of a tile (input pixels, padding included) for a batch of
        ``batch`` when a frame must be cut: core plus overlap within the budget."""
        if self.tile is not None:
            return self._multiple(self.tile)
        side = math.isqrt(max(1, self.memory_budget // self._bytes_per_pixel(batch)))
        return self._multiple(max(32, side - 2 * self.overlap))

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, self.net_dtype).contiguous(memory_format=torch.channels_last)
        return self.net(x)

    @property
    def net_dtype(self) -> torch.dtype:
        return torch.float16 if self.half else torch.float32

    @torch.inference_mode()
    def upscale(self, frames: torch.Tensor) -> torch.Tensor:
        """``N×3×H×W`` float in [0, 1] (any device) → ``N×3×(s·H)×(s·W)`` float32 on
        this device, clamped to [0, 1]."""
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"expected N×3×H×W frames, got {tuple(frames.shape)}")
        batch, _, height, width = frames.shape
        scale = self.scale
        pad = min(REFLECT_PAD, height - 1, width - 1)
        frames = frames.to(self.device, torch.float32)
        padded = F.pad(frames, (pad, pad, pad, pad), mode="reflect") if pad else frames
        # RRDB ×2/×1 files unshuffle their input: extend to a multiple of the factor.
        extra_h = self._multiple(padded.shape[2]) - padded.shape[2]
        extra_w = self._multiple(padded.shape[3]) - padded.shape[3]
        if extra_h or extra_w:
            padded = F.pad(padded, (0, extra_w, 0, extra_h), mode="replicate")
        padded_h, padded_w = padded.shape[2:]
        if self.fits_whole(padded_h, padded_w, batch):
            out = self._run(padded)
        else:
            side = self.tile_side(batch)
            out = torch.empty(
                (batch, 3, padded_h * scale, padded_w * scale),
                dtype=self.net_dtype,
                device=self.device,
            )
            for y0, y1, cy0, cy1 in _spans(padded_h, side, self.overlap):
                for x0, x1, cx0, cx1 in _spans(padded_w, side, self.overlap):
                    tile = self._run(padded[:, :, cy0:cy1, cx0:cx1])
                    out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = tile[
                        :,
                        :,
                        (y0 - cy0) * scale : (y1 - cy0) * scale,
                        (x0 - cx0) * scale : (x1 - cx0) * scale,
                    ]
        out = out[:, :, pad * scale : (pad + height) * scale, pad * scale : (pad + width) * scale]
        return out.float().clamp_(0, 1).contiguous()

    @torch.inference_mode()
    def upscale_uint8(self, frames: torch.Tensor) -> torch.Tensor:
        """``N×H×W×3`` uint8 RGB → ``N×(s·H)×(s·W)×3`` uint8 on the CPU, rounded as the
        runtime rounds."""
        x = frames.permute(0, 3, 1, 2).float().div_(255)
        out = self.upscale(x).mul_(255).round_().to(torch.uint8)
        return out.permute(0, 2, 3, 1).cpu().contiguous()
