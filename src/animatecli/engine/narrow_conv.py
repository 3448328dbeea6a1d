"""Wide-kernel convolutions with few output channels, as one matrix product and shifted
sums, for the CPU.

The generators' last layer (64 → 3 channels, 7×7) and TPSMM's occlusion heads (37–256
→ 1, 7×7) give oneDNN's direct kernel too few output channels to fill its vector lanes:
the 7×7 64 → 3 convolution at 256² ran at a fifth of the matmul peak, 31 ms a frame on
two cores, and the 37 → 1 one at 256² at a fourteenth (17 ms).

Here every tap's contribution is made at once: with the channels-last input read as a
``pixels × I`` matrix, ``(k²·O × I) @ (I × pixels)`` gives, for each tap and output
channel, its plane of products; the output is the sum of the k² planes, each shifted
by its tap's offset (zero padding: a shift only adds where its tap lands inside the
map). Per band of rows, so the planes stay a few MB. Measured against float64 on these
layers (random weights and inputs): 3–10× nearer than the direct convolution at
1.6–4× its speed (the products sum each tap's I terms in the matmul's blocked order,
then the k² taps one by one, instead of one long k²·I sum). With 11 or more output
channels the shifted sums cost more than they save and the layer stays as it is.

Pure torch, no I/O. Inference only (`inference.prepare_for_inference` installs it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The widest output this form is used for: 3 ran 1.6× the direct convolution's speed,
# 11 (the motion masks) at half of it.
MAX_OUT_CHANNELS = 3


def few_output_eligible(conv: nn.Module) -> bool:
    """Whether ``conv`` is a dense, stride-1, zero-"same"-padded convolution with an odd
    square kernel of at least 5×5 and at most ``MAX_OUT_CHANNELS`` outputs."""
    if type(conv) is not nn.Conv2d:
        return False
    size = conv.kernel_size[0]
    return (
        conv.kernel_size == (size, size)
        and size % 2 == 1
        and size >= 5
        and conv.padding == (size // 2, size // 2)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and conv.out_channels <= MAX_OUT_CHANNELS
    )


def few_output_form(module: nn.Module) -> FewOutputConv | None:
    """``module`` as a :class:`FewOutputConv` where it is :func:`few_output_eligible`,
    else None (a replacement for `inference`'s module swaps)."""
    if isinstance(module, nn.Conv2d) and few_output_eligible(module):
        return FewOutputConv(module)
    return None


class FewOutputConv(nn.Module):
    """``conv(x)`` for a :func:`few_output_eligible` convolution, computed as each tap's
    products in one matrix product and their shifted sum, on float32 CPU inputs of
    at least ``MIN_PIXELS`` (others take the direct convolution). The output is channels-last."""

    # Floats of one band's product planes (k²·O × band rows × W): 7 MiB, below the
    # 8 MiB from which the runtime maps large blocks on their own (`memory`). Bands of
    # 64+ rows ran as fast as the whole map; 16-row bands 40% slower.
    BAND_FLOATS = 7 * 2**20 // 4
    # Below 32² the per-tap slicing costs more than oneDNN's kernel takes.
    MIN_PIXELS = 32 * 32

    weight: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not few_output_eligible(conv):
            raise ValueError("only a dense, stride-1, same-padded k×k convolution, k ≥ 5")
        self.out_channels = conv.out_channels
        self.size = conv.kernel_size[0]
        # The convolution's own tensors (shared, not copied), non-persistent: the state
        # dict stays the model's.
        self.register_buffer("weight", conv.weight.detach(), persistent=False)
        bias = None if conv.bias is None else conv.bias.detach()
        self.register_buffer("bias", bias, persistent=False)

    def takes(self, x: torch.Tensor) -> bool:
        """Whether ``x`` goes through the shifted sums (else the direct convolution)."""
        return (
            x.device.type == "cpu"
            and x.dtype == self.weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and x.requires_grad)
            and x.shape[-2] * x.shape[-1] >= self.MIN_PIXELS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.takes(x):
            return F.conv2d(x, self.weight, self.bias, padding=self.size // 2)
        batch, _, height, width = x.shape
        size, reach, outputs = self.size, self.size // 2, self.out_channels
        planes = size * size * outputs
        rows = max(1, min(height, self.BAND_FLOATS // (planes * width) - 2 * reach))
        image = x.permute(0, 2, 3, 1).contiguous()  # B×H×W×I (a view when channels-last)
        # The products' taps-major matrix (k²·O × I), made per call from the weights: a
        # few KB (9 for a 64 → 3 layer), so the layer keeps one copy of its weights.
        taps = self.weight.permute(2, 3, 0, 1).reshape(planes, -1)
        result = x.new_empty((batch, outputs, height, width))
        for sample in range(batch):
            for top in range(0, height, rows):
                count = min(rows, height - top)
                self._band(taps, image[sample], result[sample], top, count)
        # Channels-last, like every other layer's output on this path (O is 1–3: cheap).
        return result.contiguous(memory_format=torch.channels_last)

    def _band(
        self, taps: torch.Tensor, image: torch.Tensor, result: torch.Tensor, top: int, count: int
    ) -> None:
        """Output rows ``top … top+count−1`` of one sample (``image``: H×W×I, ``result``:
        O×H×W), from input rows ``top − reach … top + count − 1 + reach`` (those inside)."""
        height, width, channels = image.shape
        size, reach = self.size, self.size // 2
        first, last = max(top - reach, 0), min(top + count + reach, height)
        products = torch.mm(taps, image[first:last].reshape(-1, channels).T)
        products = products.view(size, size, self.out_channels, last - first, width)
        band = result[:, top : top + count]
        if self.bias is None:
            band.zero_()
        else:
            band.copy_(self.bias.view(-1, 1, 1).expand_as(band))
        for dy in range(size):
            # Output row r reads input row r + dy − reach: the rows of this band whose
            # input row is inside the map.
            start = max(top, first + reach - dy)
            stop = min(top + count, last + reach - dy)
            if stop <= start:
                continue
            source_rows = slice(start + dy - reach - first, stop + dy - reach - first)
            for dx in range(size):
                left, right = max(0, reach - dx), min(width, width + reach - dx)
                band[:, start - top : stop - top, left:right] += products[
                    dy, dx, :, source_rows, left + dx - reach : right + dx - reach
                ]
