"""The CPU warp's channel groups: the same numbers as one sampling call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from animatecli.engine.blocks import _channel_groups, warp


@pytest.fixture
def threads() -> Iterator[None]:
    saved = torch.get_num_threads()
    yield
    torch.set_num_threads(saved)


def _field(height: int, width: int) -> torch.Tensor:
    # Beyond ±1 too: the zero padding outside the image is part of the result.
    return torch.rand(1, height, width, 2, generator=torch.Generator().manual_seed(1)) * 2.4 - 1.2


@pytest.mark.parametrize("count", [2, 4])
@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("align_corners", [True, False])
def test_channel_groups_give_one_calls_numbers(
    count: int, layout: torch.memory_format, align_corners: bool, threads: None
) -> None:
    image = torch.randn(1, 8, 20, 24).contiguous(memory_format=layout)
    field = _field(18, 22)
    torch.set_num_threads(count)
    assert _channel_groups(image, field) == count
    with torch.inference_mode():
        actual = warp(image, field, align_corners)
        expected = F.grid_sample(image, field, align_corners=align_corners)
    assert actual.shape == (1, 8, 18, 22)
    assert torch.equal(actual, expected)


def test_what_cannot_split_takes_one_call(threads: None) -> None:
    torch.set_num_threads(2)
    field = _field(8, 8)
    assert _channel_groups(torch.randn(1, 3, 8, 8), field) == 1  # channels not divisible
    assert _channel_groups(torch.randn(2, 4, 8, 8), field.expand(2, -1, -1, -1)) == 1
    with torch.enable_grad():
        image = torch.randn(1, 4, 8, 8, requires_grad=True)
        assert _channel_groups(image, field) == 1
        warp(image, field, True).sum().backward()
    assert image.grad is not None
    torch.set_num_threads(1)
    assert _channel_groups(torch.randn(1, 4, 8, 8), field) == 1
