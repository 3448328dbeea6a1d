"""Inference rewrites: batch norms folded into convolutions and the phase form of
upsample-then-convolve compute what the layers they replace compute (the parity tests
of both families check whole models, which the Animator rewrites by default)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from animatecli.engine.blocks import Hourglass, ResBlock, SameBlock, UpBlock
from animatecli.engine.fomm import FommModel, official_config
from animatecli.engine.inference import (
    InstanceNormForInference,
    NearestUpsampleConv,
    fold_batch_norms,
    prepare_for_inference,
)
from animatecli.engine.narrow_conv import FewOutputConv
from animatecli.engine.tpsmm import OFFICIAL_CONFIGS, TpsmmModel
from animatecli.engine.tpsmm.keypoints import KeypointDetector, ResNet18
from animatecli.engine.winograd import WinogradConv3x3


def _randomise_norms(model: nn.Module) -> nn.Module:
    """Non-trivial running statistics and affine parameters in every batch norm."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))
    return model.eval()


@pytest.mark.parametrize(
    "build",
    [
        lambda: SameBlock(3, 8, 7, 3),
        lambda: ResBlock(8),
        lambda: Hourglass(8, 3, num_blocks=3, max_features=32),
        lambda: ResNet18(3, 10),
    ],
    ids=["same", "res", "hourglass", "resnet18"],
)
def test_folded_batch_norms_compute_the_same(build) -> None:
    torch.manual_seed(0)
    model = _randomise_norms(build())
    channels = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels
    x = torch.rand(2, channels, 32, 32)
    with torch.no_grad():
        expected = model(x)
        folded = copy.deepcopy(model)
        assert fold_batch_norms(folded) > 0
        actual = folded(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in _conv_fed_norms(folded))
    assert torch.allclose(actual, expected, atol=1e-4, rtol=1e-4)


def _conv_fed_norms(model: nn.Module) -> list[nn.Module]:
    return [
        getattr(m, norm) for m in model.modules() for _, norm in getattr(m, "CONV_NORM_PAIRS", ())
    ]


def test_res_block_keeps_the_norm_of_its_input() -> None:
    block = _randomise_norms(ResBlock(4))
    assert fold_batch_norms(block) == 1
    assert isinstance(block.norm1, nn.BatchNorm2d)
    assert isinstance(block.norm2, nn.Identity)


def test_training_mode_norms_are_left_alone() -> None:
    block = SameBlock(3, 4, 3, 1).train()
    assert fold_batch_norms(block) == 0
    with pytest.raises(ValueError, match="eval mode"):
        prepare_for_inference(block)


@pytest.mark.parametrize("size", [(8, 8), (7, 11), (2, 3)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_phase_form_equals_upsampling_then_convolving(
    size: tuple[int, int], channels_last: bool
) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, 3, padding=1)
    x = torch.rand(2, 6, *size)
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        actual = NearestUpsampleConv(conv)(x)
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, atol=1e-5)
    if channels_last and size[0] * size[1] >= NearestUpsampleConv.MIN_PIXELS:
        assert actual.is_contiguous(memory_format=torch.channels_last)


def test_phase_kernels_only_for_inputs_where_they_pay() -> None:
    up = NearestUpsampleConv(nn.Conv2d(4, 4, 3, padding=1))
    with torch.no_grad():
        up(torch.rand(1, 4, 4, 4))
        assert up.kernels is None  # the bottom of a hourglass keeps the 3×3 weights only
        up(torch.rand(1, 4, 8, 8))
    assert up.kernels is not None and [k.shape[2:] for k in up.kernels] == [(2, 2)] * 4
    assert up.weight is None  # one copy of the weights: the phase kernels replaced them


def test_phase_form_serves_small_inputs_once_it_replaced_the_weights() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 3, 3, padding=1)
    small, large = torch.rand(1, 4, 4, 4), torch.rand(1, 4, 8, 8)
    with torch.no_grad():
        expected = conv(F.interpolate(small, scale_factor=2, mode="nearest"))
        up = NearestUpsampleConv(conv)
        up(large)
        assert torch.allclose(up(small), expected, atol=1e-5)


def test_phase_form_refuses_other_convolutions() -> None:
    with pytest.raises(ValueError):
        NearestUpsampleConv(nn.Conv2d(4, 4, 5, padding=2))


def test_prepared_up_block_keeps_one_copy_of_its_weights() -> None:
    block = UpBlock(4, 4).eval()
    weight = block.conv.weight
    prepare_for_inference(block)
    assert block.upsampled_conv is not None and block.conv is None
    shared = block.upsampled_conv.weight
    assert shared.untyped_storage().data_ptr() == weight.untyped_storage().data_ptr()
    # The folded norm and the replaced convolution leave the state dict; the phase
    # form's tensors are not saved.
    assert block.state_dict() == {}


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_instance_norm_for_inference_keeps_the_layout(channels_last: bool, batch: int) -> None:
    torch.manual_seed(0)
    norm = nn.InstanceNorm2d(6, affine=True)
    norm.weight.data.uniform_(0.5, 2.0)
    norm.bias.data.normal_()
    x = torch.randn(batch, 6, 12, 10) * 3 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected = norm(x)
        actual = InstanceNormForInference(norm)(x)
    assert torch.allclose(actual, expected, atol=1e-5)
    assert actual.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_winograd_only_for_wide_convolutions_outside_sharp_networks() -> None:
    model = FommModel(official_config("vox-256")).eval()
    prepare_for_inference(model)
    winograd = [name for name, m in model.named_modules() if isinstance(m, WinogradConv3x3)]
    # The generator's twelve 256-channel bottleneck convolutions and its widest encoder
    # block; nothing in the keypoint detector or the dense motion network
    # (`blocks.keeps_float32`), nor the up blocks (phase form).
    assert sorted(winograd)[0] == "generator.bottleneck.r0.conv1"
    assert len([name for name in winograd if name.startswith("generator.bottleneck.")]) == 12
    assert set(winograd) - {n for n in winograd if "bottleneck" in n} == {
        "generator.down_blocks.1.conv"
    }
    assert not any(k.endswith("transformed") for k in model.state_dict())


@pytest.mark.parametrize("family", ["fomm", "tpsmm"])
def test_few_output_convolutions_everywhere(family: str) -> None:
    """The last layer and the occlusion heads, inside the dense motion networks too
    (nearer float64 than the direct convolution); not the wider mask heads."""
    if family == "fomm":
        model: nn.Module = FommModel(official_config("vox-256")).eval()
        expected = {"generator.final", "generator.dense_motion_network.occlusion"}
    else:
        model = TpsmmModel(OFFICIAL_CONFIGS["vox-256"][0], with_avd=False).eval()
        occlusion = "dense_motion_network.occlusion"
        expected = {"inpainting_network.final", *(f"{occlusion}.{i}" for i in range(4))}
    names = set(model.state_dict())
    prepare_for_inference(model)
    assert {n for n, m in model.named_modules() if isinstance(m, FewOutputConv)} == expected
    prepared = set(model.state_dict())
    assert not any(name.startswith(tuple(expected)) for name in prepared)
    assert prepared <= names


@pytest.mark.parametrize("fast", [False, True])
def test_tpsmm_keypoint_detector_computes_in_float64_on_the_cpu(fast: bool) -> None:
    torch.manual_seed(0)
    detector = KeypointDetector(num_tps=2).eval()
    # 128²: the first block's 64-channel maps are 32², where float64 Winograd starts.
    image = torch.rand(1, 3, 128, 128)
    names = set(detector.state_dict())
    with torch.inference_mode():
        truth = copy.deepcopy(detector).double()(image.double()).value
        plain = detector(image).value
        prepare_for_inference(detector, fast=fast)
        prepared = detector(image).value
        # Preparing twice (as `eval` does a runtime's model) changes nothing.
        prepare_for_inference(detector, fast=fast)
        assert torch.equal(detector(image).value, prepared)
    assert prepared.dtype == torch.float32  # what the rest of the model takes
    # The weights stay float32 either way (each layer casts its own per call).
    assert {p.dtype for p in detector.parameters()} == {torch.float32}
    if fast:  # the opt-in fast path trades exactness for speed: no float64
        assert detector.compute_dtype is None
        assert torch.equal(prepared, plain) or (prepared - plain).abs().max() < 1e-5
    else:
        assert detector.compute_dtype == torch.float64
        # The same layers computing in float64, the wide 3×3 ones by Winograd (which keep
        # their weights outside the state dict, like every layer in another form).
        by_winograd = {
            f"{name}.weight"
            for name, module in detector.named_modules()
            if isinstance(module, WinogradConv3x3)
        }
        assert len(by_winograd) == 13  # ResNet-18's stride-1 3×3 convolutions
        assert by_winograd <= names
        assert set(detector.state_dict()) == names - by_winograd
        first_block = detector.fg_encoder.layer1[0].conv1
        assert isinstance(first_block, WinogradConv3x3) and first_block.taps is not None
        # Only the final rounding to float32 is left of the float32 run's error.
        assert (prepared.double() - truth).abs().max() <= 2**-24
        assert (prepared.double() - truth).abs().max() < (plain.double() - truth).abs().max()
