"""channels_last_in_place: Module.to(memory_format=channels_last) in the weights' storage."""

from __future__ import annotations

import torch
from torch import nn

from animatecli.engine.building import channels_last_in_place


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(5, 7, 3, padding=1),
        nn.BatchNorm2d(7),
        nn.Conv2d(7, 300, 1),  # 1×1: contiguous is already channels-last
        nn.Conv2d(300, 3, (2, 4)),
    ).eval()
    model[1].running_mean.normal_()
    return model


def test_same_function_same_memory_channels_last_layout() -> None:
    model, expected_model = _model(), _model()
    expected_model.to(memory_format=torch.channels_last)
    storages = [p.untyped_storage().data_ptr() for p in model.parameters()]
    # A scratch of one output channel at a time: the chunked path, not one big copy.
    channels_last_in_place(model, chunk_bytes=1)
    assert [p.untyped_storage().data_ptr() for p in model.parameters()] == storages
    for param, expected in zip(model.parameters(), expected_model.parameters(), strict=True):
        assert torch.equal(param, expected)
        if param.ndim == 4:
            assert param.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(2, 5, 9, 11)
    with torch.no_grad():
        assert torch.equal(model(x), expected_model(x))


def test_views_and_converted_tensors_are_left_to_contiguous() -> None:
    conv = nn.Conv2d(3, 4, 3)
    original = conv.weight.detach().clone()
    conv.weight.data = conv.weight.data.transpose(2, 3)  # a non-contiguous view
    channels_last_in_place(conv)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(conv.weight, original.transpose(2, 3))
    channels_last_in_place(conv)  # already channels-last: nothing moves
    assert torch.equal(conv.weight, original.transpose(2, 3))
