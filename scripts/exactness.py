"""How far each inference rewrite moves the predictions from a float64 run of the same
weights, and what it costs: the exactness table of ``make bench``.

The truth is the model run directly in float64 (no rewrites; the float32 casts of the
precision-sensitive networks lifted). Against it: the plain float32 run (what the
original code computes), each rewrite of :mod:`animatecli.engine.inference` alone, and
the default CPU path (all of them, channels-last weights). Errors are in output levels
(×255) over every frame and pixel: the maximum and the mean.

Run alone: ``python scripts/exactness.py [--frames N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from animatecli.engine import MotionModel, blocks, narrow_conv, winograd
from animatecli.engine.building import channels_last_in_place
from animatecli.engine.inference import (
    InstanceNormForInference,
    NearestUpsampleConv,
    _replace_children,
    computes_in_float64,
    fold_batch_norms,
    prepare_for_inference,
)
from animatecli.engine.motion import MotionMode, movement_scale
from animatecli.engine.registry import family_named

Variant = Callable[[nn.Module], object]  # rewrites the module in place


@contextlib.contextmanager
def float64_allowed() -> Iterator[None]:
    """Let the precision-sensitive networks run in the input's dtype (they cast to float32
    for autocast's sake; for the float64 truth they must not)."""
    saved = blocks._as_float32
    blocks._as_float32 = lambda value: value
    try:
        yield
    finally:
        blocks._as_float32 = saved


def animating(
    model: MotionModel, source: torch.Tensor, initial: torch.Tensor, mode: MotionMode
) -> Callable[[torch.Tensor], torch.Tensor]:
    """What depends on the source and the initial driving frame, done once; returns the
    per-frame step: a ``1×3×H×W`` driving frame → its prediction, in the model's dtype."""
    # The truth is float64 throughout; a candidate is float32 but may keep float64 parts.
    every_float64 = all(p.dtype == torch.float64 for p in model.parameters())
    dtype = torch.float64 if every_float64 else torch.float32

    def as_input(image: torch.Tensor) -> torch.Tensor:
        return image.to(dtype).contiguous(memory_format=torch.channels_last)

    with torch.inference_mode():
        image = as_input(source)
        kp_source = model.detect(image)
        encoding = model.encode_source(image)
        kp_initial = model.detect(as_input(initial))
        scale = movement_scale(kp_source, kp_initial)

    def step(frame: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            kp_driving = model.detect(as_input(frame))
            moved = model.transfer(kp_source, kp_driving, kp_initial, mode, scale)
            return model.generate(encoding, moved, kp_source).prediction

    return step


def predict(
    model: MotionModel, source: torch.Tensor, driving: torch.Tensor, mode: MotionMode
) -> torch.Tensor:
    """``B×3×H×W`` predictions of ``driving`` (frame 0 the initial one), one frame at a
    time, in float64."""
    step = animating(model, source, driving[:1], mode)
    return torch.cat([step(driving[i : i + 1]) for i in range(driving.shape[0])]).double()


def _upsampling(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, blocks.UpBlock) and module.conv is not None:
            module.upsampled_conv = NearestUpsampleConv(module.conv)
            module.conv = None


def _winograd(scheme: winograd.TileScheme, min_channels: int) -> Variant:
    def rewrite(model: nn.Module) -> None:
        form = winograd.winograd_form(min_channels, scheme)
        _replace_children(model, form, skip=blocks.keeps_float32)

    return rewrite


def _instance_norm(model: nn.Module) -> None:
    def replace(child: nn.Module) -> nn.Module | None:
        if type(child) is nn.InstanceNorm2d and child.affine:
            return InstanceNormForInference(child)
        return None

    _replace_children(model, replace)


def variants(min_channels: int = 128) -> dict[str, Variant]:
    """The rewrites one by one, then the default path and its opt-in faster form."""

    def default(model: nn.Module, fast: bool = False) -> None:
        channels_last_in_place(model)
        prepare_for_inference(model, winograd_min_channels=min_channels, fast=fast)

    def previous(model: nn.Module) -> None:
        channels_last_in_place(model)
        fold_batch_norms(model)
        _upsampling(model)
        _winograd(winograd.LAVIN, min_channels)(model)
        _instance_norm(model)

    return {
        "float32, no rewrite (the original)": lambda model: None,
        "channels-last weights": channels_last_in_place,
        "batch norm folded outside keypoints/motion (default)": lambda model: fold_batch_norms(
            model, skip=blocks.keeps_float32
        ),
        "batch norm folded everywhere (opt-in; before)": fold_batch_norms,
        "phase up-convolutions + small-map matmul": _upsampling,
        "Winograd F(4x4,3x3) 0,±1,½,−2 (default)": _winograd(winograd.F4, min_channels),
        "Winograd F(2x2,3x3) 0,±1": _winograd(winograd.F2, min_channels),
        "Winograd F(4x4,3x3) 0,±1,±2 (before)": _winograd(winograd.LAVIN, min_channels),
        "7x7 convolutions with 1-3 outputs by shifted sums": lambda model: _replace_children(
            model, narrow_conv.few_output_form
        ),
        "instance norm channels-last": _instance_norm,
        "keypoint detector in float64 (TPSMM's; FOMM has none marked)": computes_in_float64,
        "default CPU path (all, F(4x4) 0,±1,½,−2)": default,
        "opt-in fast path (also folded in keypoints/motion)": lambda model: default(
            model, fast=True
        ),
        "the path before (F(4x4) 0,±1,±2, all folded)": previous,
    }


@dataclass
class Row:
    variant: str
    max_levels: float
    mean_levels: float
    seconds_per_frame: float  # NaN in the error rows (`measure`)


def measure(
    model: MotionModel,
    source: torch.Tensor,
    driving: torch.Tensor,
    mode: MotionMode,
    chosen: dict[str, Variant],
) -> list[Row]:
    """One row per variant: its error against the float64 run of the same weights (speed:
    `speed_rows`)."""
    truth_model = copy.deepcopy(model).double()
    with float64_allowed():
        truth = predict(truth_model, source, driving, mode)
    del truth_model
    rows = []
    for name, variant in chosen.items():
        candidate = copy.deepcopy(model).float()
        variant(candidate)
        error = (predict(candidate, source, driving, mode) - truth).abs() * 255
        rows.append(Row(name, error.max().item(), error.mean().item(), math.nan))
    return rows


SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@contextlib.contextmanager
def winograd_everywhere() -> Iterator[None]:
    """The reference fixtures' models are narrow and small: let every eligible
    convolution take the transform (the parity tests' stress setting)."""
    saved = winograd.WinogradConv3x3.MIN_PIXELS
    winograd.WinogradConv3x3.MIN_PIXELS = 16
    try:
        yield
    finally:
        winograd.WinogradConv3x3.MIN_PIXELS = saved


def golden_case(family: str) -> tuple[MotionModel, torch.Tensor, torch.Tensor]:
    """The family's reference fixture (calibrated batch norms): model, source, driving."""
    golden = torch.load(SHARED / f"{family}-reference" / "golden-tiny.pt", weights_only=True)
    record = family_named(family)
    if family == "fomm":
        from animatecli.engine.fomm import FommModel, ModelConfig

        config = ModelConfig.from_model_params(golden["config"], golden["frame_shape"][:2])
        model: MotionModel = FommModel(config)
    else:
        from animatecli.engine.tpsmm import TpsmmConfig, TpsmmModel

        config = TpsmmConfig.from_model_params(golden["config"], golden["frame_shape"][:2])
        model = TpsmmModel(config, with_avd=True)
    for part, state in golden["checkpoint"].items():
        getattr(model, part).load_state_dict(state)
    assert record.name == model.family
    return model.eval(), golden["source"], golden["driving"]


def exactness_rows(family: str) -> dict[str, list[Row]]:
    """Per motion mode, each variant's error on the family's reference fixture (every
    eligible convolution by Winograd) against its float64 run."""
    model, source, driving = golden_case(family)
    with winograd_everywhere():
        return {
            mode.value: measure(model, source, driving, mode, variants(1)) for mode in model.modes
        }


def speed_rows(family: str, frames: int) -> list[Row]:
    """Each variant's time per frame on the family's vox-256 network (random weights),
    relative mode, ``frames`` frames of 256×256 (the per-frame work: detection, transfer,
    generation). The variants are timed in turns frame by frame, so that a machine whose
    speed drifts slows every variant alike."""
    torch.manual_seed(0)
    record = family_named(family)
    config = record.official_configs["vox-256"].config
    model = record.build(config, record.optional_parts).eval()
    source = torch.rand(1, 3, 256, 256)
    driving = (source + 0.05 * torch.randn(frames, 3, 256, 256)).clamp(0, 1)
    chosen = {
        k: v
        for k, v in variants().items()
        if any(word in k for word in ("Winograd", "shifted sums", "path", "original"))
    }
    from bench import interleaved_fps  # the bench's own turn-taking timer

    mode = MotionMode.RELATIVE
    steps = {}
    for name, variant in chosen.items():
        candidate = copy.deepcopy(model).float()
        variant(candidate)
        steps[name] = animating(candidate, source, driving[:1], mode)
        steps[name](driving[:1])  # warm-up (lazy kernels are made)
    # The per-frame work only (the source's encoding and keypoints are made once per video).
    fps = interleaved_fps(steps, driving, unit=1)
    return [Row(name, math.nan, math.nan, 1 / rate) for name, rate in fps.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--families", nargs="+", default=["fomm", "tpsmm"])
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    for family in args.families:
        for mode, rows in exactness_rows(family).items():
            print(f"\n{family} reference fixture, mode {mode}: error vs float64 (levels)")
            for row in rows:
                print(f"  {row.variant:42s} max {row.max_levels:8.4f}  mean {row.mean_levels:9.6f}")
        if not args.skip_speed:
            rows = speed_rows(family, args.frames)
            print(f"\n{family} vox-256 speed (x the original's float32, same script)")
            for row in rows:
                print(
                    f"  {row.variant:42s} x{rows[0].seconds_per_frame / row.seconds_per_frame:5.2f}"
                )


if __name__ == "__main__":
    main()
