"""Winograd F(2×2, 3×3) and F(4×4, 3×3) convolutions against float64 direct convolutions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from animatecli.engine import winograd
from animatecli.engine.winograd import (
    F2,
    F4,
    TileScheme,
    WinogradConv3x3,
    winograd_eligible,
)


def _conv(in_channels: int, out_channels: int, bias: bool = True) -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)


def _reference(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    bias = None if conv.bias is None else conv.bias.double()
    return F.conv2d(x.double(), conv.weight.double(), bias, padding=1)


@pytest.mark.parametrize(
    ("shape", "bias"),
    [((1, 24, 64, 64), True), ((2, 16, 64, 68), True), ((3, 8, 128, 32), False)],
)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("scheme", [F2, F4], ids=lambda scheme: scheme.name)
def test_transform_computes_the_convolution(
    shape: tuple[int, int, int, int], bias: bool, channels_last: bool, scheme: TileScheme
) -> None:
    conv = _conv(shape[1], 12, bias)
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    winograd = WinogradConv3x3(conv, scheme)
    with torch.inference_mode():
        assert winograd.takes(x)
        actual = winograd(x)
    expected = _reference(conv, x)
    assert actual.shape == expected.shape
    assert actual.is_contiguous(memory_format=torch.channels_last)
    # A few times the rounding of a float32 direct convolution, both against float64.
    error = (actual - expected).abs().max().item()
    assert error <= 1e-5 * expected.abs().max().item()


@pytest.mark.parametrize("size", [(10, 12), (16, 32), (64, 62)])
def test_other_sizes_take_the_direct_convolution(size: tuple[int, int]) -> None:
    conv = _conv(8, 8)
    winograd = WinogradConv3x3(conv)
    x = torch.randn(1, 8, *size)
    with torch.inference_mode():
        assert not winograd.takes(x)
        actual = winograd(x)
    assert torch.allclose(actual, _reference(conv, x).float(), atol=1e-5)


def test_inputs_that_need_gradients_take_the_direct_convolution() -> None:
    winograd = WinogradConv3x3(_conv(4, 4))
    x = torch.randn(1, 4, 64, 64, requires_grad=True)
    assert not winograd.takes(x)
    winograd(x).sum().backward()
    assert x.grad is not None


def test_only_dense_3x3_stride_1_convolutions_are_eligible() -> None:
    assert winograd_eligible(nn.Conv2d(128, 128, 3, padding=1), 128)
    assert not winograd_eligible(nn.Conv2d(64, 128, 3, padding=1), 128)
    assert not winograd_eligible(nn.Conv2d(128, 128, 3, padding=1, stride=2), 1)
    assert not winograd_eligible(nn.Conv2d(128, 128, 3, padding=1, groups=2), 1)
    assert not winograd_eligible(nn.Conv2d(128, 128, 5, padding=2), 1)
    assert not winograd_eligible(nn.Conv2d(128, 128, 3, padding=1, padding_mode="reflect"), 1)
    with pytest.raises(ValueError):
        WinogradConv3x3(nn.Conv2d(4, 4, 3, padding=0))


def test_scratch_is_reused_across_inference_and_grad_free_modes() -> None:
    conv = _conv(8, 8)
    winograd = WinogradConv3x3(conv)
    x = torch.randn(1, 8, 64, 64)
    with torch.inference_mode():
        inside = winograd(x)
    with torch.no_grad():
        outside = winograd(x)  # scratch made in inference mode is not written here
    assert torch.equal(inside, outside)


def test_only_the_3x3_kernels_are_kept() -> None:
    """The 36×I×O transformed kernels are made per call in scratch, not kept."""
    conv = _conv(32, 48)
    winograd = WinogradConv3x3(conv)
    with torch.inference_mode():
        winograd(torch.randn(1, 32, 64, 64))
        small = torch.randn(1, 32, 12, 12)
        actual = winograd(small)  # the direct convolution on the kept taps
    sizes = {name: b.numel() for name, b in winograd.named_buffers()}
    assert "weight" not in sizes  # replaced by the taps, not duplicated
    assert sizes["taps"] == conv.weight.numel() == max(sizes.values())
    assert torch.equal(winograd.direct_weight(), conv.weight.detach())
    assert torch.allclose(actual, _reference(conv, small).float(), atol=1e-5)


def test_a_layer_that_never_takes_the_transform_keeps_its_weights() -> None:
    conv = _conv(8, 8)
    winograd = WinogradConv3x3(conv)
    with torch.inference_mode():
        for _ in range(2):
            winograd(torch.randn(1, 8, 16, 16))
    assert winograd.taps is None
    assert winograd.weight is not None and winograd.weight.data_ptr() == conv.weight.data_ptr()


@pytest.mark.parametrize("scheme", [F2, F4], ids=lambda scheme: scheme.name)
@pytest.mark.parametrize("batch", [1, 3])
def test_chunks_cover_every_tile(
    batch: int, scheme: TileScheme, monkeypatch: pytest.MonkeyPatch
) -> None:
    # F(4×4): 3 rows of 17 tiles (36 points × 8 channels × 51 tiles); F(2×2): 3 of 34.
    monkeypatch.setattr(WinogradConv3x3, "CHUNK_FLOATS", 36 * 8 * 51)
    conv = _conv(8, 8)
    x = torch.randn(batch, 8, 64, 68)
    with torch.inference_mode():
        actual = WinogradConv3x3(conv, scheme)(x)
    expected = _reference(conv, x)
    assert (actual - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()


@pytest.mark.parametrize(
    ("channels", "chunk_floats", "band_rows"),
    [
        # 128 tiles a chunk: 4 rows of 32, so 4·4 + 2 padded rows.
        (16, 36 * 16 * 128, 18),
        # The floats' cap alone would give an 8-channel layer its whole 128² map in one
        # chunk (and the scratch to match); the outputs' cap keeps it to 64² outputs,
        # 256 tiles: 8 rows of 32, so 8·4 + 2 padded rows.
        (8, None, 34),
    ],
)
def test_the_padded_copy_is_one_band_of_rows_not_the_whole_map(
    channels: int, chunk_floats: int | None, band_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(winograd._scratch, "sets", {}, raising=False)
    if chunk_floats is not None:
        monkeypatch.setattr(WinogradConv3x3, "CHUNK_FLOATS", chunk_floats)
    conv = _conv(channels, channels)
    x = torch.randn(1, channels, 128, 128)
    with torch.inference_mode():
        actual = WinogradConv3x3(conv, F4)(x)
    expected = _reference(conv, x)
    assert (actual - expected).abs().max().item() <= 1e-5 * expected.abs().max().item()
    padded = winograd._scratch.sets[True][1]  # bytes
    assert padded.numel() == band_rows * 130 * channels * 4 < 130 * 130 * channels * 4


def test_float64_inputs_compute_in_float64_from_float32_weights() -> None:
    """TPSMM's keypoint detector computes in float64: there the transform's rounding is
    float64's, far below float32's."""
    conv = _conv(16, 12)
    winograd = WinogradConv3x3(conv, F4, min_pixels=32 * 32)
    x = torch.randn(1, 16, 32, 32, dtype=torch.float64)
    small = torch.randn(1, 16, 16, 16, dtype=torch.float64)
    with torch.inference_mode():
        assert winograd.takes(x) and not winograd.takes(small)
        actual = winograd(x)
        direct = winograd(small)  # the direct convolution, in float64 too
    expected = _reference(conv, x)
    assert actual.dtype == torch.float64
    assert (actual - expected).abs().max() <= 1e-13 * expected.abs().max()
    assert torch.equal(direct, _reference(conv, small))
    assert winograd.taps is not None and winograd.taps.dtype == torch.float32


def test_float32_and_float64_calls_share_the_scratch() -> None:
    """Alternating dtypes (TPSMM's float64 detector between float32 networks, every frame)
    reuses one set of buffers: not remade on each switch, not doubled."""
    conv = _conv(8, 8)
    layer = WinogradConv3x3(conv)
    single = torch.randn(1, 8, 64, 64)

    def scratch() -> list[int]:
        return [b.data_ptr() for b in winograd._scratch.sets[True]]

    with torch.inference_mode():
        layer(single.double())  # the larger of the two: the buffers grow once
        first = layer(single)
        before = scratch()
        double = layer(single.double())
        assert torch.equal(layer(single), first)
    assert scratch() == before
    assert (double - _reference(conv, single)).abs().max() < 1e-12
