"""Wide-kernel convolutions with few outputs by shifted sums, against float64 direct ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from animatecli.engine.narrow_conv import FewOutputConv, few_output_eligible


def _conv(in_channels: int, out_channels: int, size: int = 7, bias: bool = True) -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(in_channels, out_channels, size, padding=size // 2, bias=bias)


def _truth(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    bias = None if conv.bias is None else conv.bias.double()
    return F.conv2d(x.double(), conv.weight.double(), bias, padding=conv.padding)


@pytest.mark.parametrize(
    ("shape", "outputs", "size", "bias"),
    [
        ((1, 64, 96, 80), 3, 7, True),  # a generator's last layer, a non-square map
        ((2, 37, 64, 64), 1, 7, False),  # an occlusion head, two samples
        ((1, 9, 40, 33), 2, 5, True),  # an odd width, a 5×5 kernel
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_shifted_sums_compute_the_convolution_nearer_float64(
    shape: tuple[int, int, int, int], outputs: int, size: int, bias: bool, channels_last: bool
) -> None:
    conv = _conv(shape[1], outputs, size, bias).eval()
    x = torch.rand(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    layer = FewOutputConv(conv)
    with torch.inference_mode():
        assert layer.takes(x)
        actual, direct = layer(x), conv(x)
    truth = _truth(conv, x)
    assert actual.shape == truth.shape
    assert actual.is_contiguous(memory_format=torch.channels_last)
    error = (actual.double() - truth).abs()
    direct_error = (direct.double() - truth).abs()
    assert error.max() <= 1e-5 * truth.abs().max()
    # Each tap's sum is short and the taps are added one by one: no further from
    # float64 than the direct convolution, on average and at worst.
    assert error.mean() <= direct_error.mean()
    assert error.max() <= direct_error.max()


def test_bands_cover_the_map_exactly_once() -> None:
    """Bands of a few rows (tiny ``BAND_FLOATS``): every row from its own band, the
    borders zero-padded, the same result as one band."""
    conv = _conv(6, 2).eval()
    x = torch.rand(1, 6, 45, 40).contiguous(memory_format=torch.channels_last)
    whole, banded = FewOutputConv(conv), FewOutputConv(conv)
    banded.BAND_FLOATS = 49 * 2 * 40 * 9  # 3 rows of output per band (+6 of reach)
    with torch.inference_mode():
        assert torch.allclose(banded(x), whole(x), atol=1e-6)
        assert torch.allclose(banded(x).double(), _truth(conv, x), atol=1e-5)


@pytest.mark.parametrize(
    "case", ["float64", "small map", "gradients"], ids=lambda case: case.replace(" ", "-")
)
def test_other_inputs_take_the_direct_convolution(case: str) -> None:
    conv = _conv(8, 3)
    layer = FewOutputConv(conv)
    x = torch.rand(1, 8, 64, 64)
    if case == "float64":
        x, conv = x.double(), conv.double()
        layer = FewOutputConv(conv)
    elif case == "small map":
        x = torch.rand(1, 8, 16, 16)
    else:
        x.requires_grad_(True)
    assert not layer.takes(x)
    expected = conv(x)
    actual = layer(x)
    assert torch.equal(actual, expected)
    if case == "gradients":
        actual.sum().backward()
        assert x.grad is not None


@pytest.mark.parametrize(
    ("conv", "eligible"),
    [
        (nn.Conv2d(64, 3, 7, padding=3), True),
        (nn.Conv2d(64, 1, 5, padding=2, bias=False), True),
        (nn.Conv2d(64, 11, 7, padding=3), False),  # wider outputs: slower this way
        (nn.Conv2d(64, 3, 3, padding=1), False),  # 3×3: oneDNN's own is fast enough
        (nn.Conv2d(35, 3, 7), False),  # no padding (FOMM's keypoint head)
        (nn.Conv2d(64, 3, 7, padding=3, stride=2), False),
        (nn.Conv2d(64, 2, 7, padding=3, groups=2), False),
        (nn.Conv2d(64, 3, 7, padding=3, padding_mode="reflect"), False),
        (nn.Conv2d(64, 3, (7, 5), padding=(3, 2)), False),
    ],
)
def test_eligibility(conv: nn.Conv2d, eligible: bool) -> None:
    assert few_output_eligible(conv) is eligible
    if not eligible:
        with pytest.raises(ValueError):
            FewOutputConv(conv)
