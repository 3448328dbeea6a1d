"""Our engine against tensors computed by the original implementation.

Tolerances are the fixture README's suggested float32 atols.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from animatecli.engine import Animator, Keypoints, MotionMode, normalize_keypoints
from animatecli.engine.fomm import FommModel
from animatecli.engine.fomm.keypoints import JACOBIAN

from ..references import FOMM_ATOL_KP, FOMM_ATOL_PREDICTION, GoldenModel, assert_close

ATOL_KP = FOMM_ATOL_KP
ATOL_MOTION = 1e-3
ATOL_PREDICTION = FOMM_ATOL_PREDICTION
ATOL_DEFORMED = 1e-2

MODES = {
    "relative_adapt": (MotionMode.RELATIVE, True),
    "relative": (MotionMode.RELATIVE, False),
    "absolute": (MotionMode.ABSOLUTE, False),
}


def kp_of(entry: dict[str, torch.Tensor]) -> Keypoints:
    return Keypoints(entry["value"], {JACOBIAN: entry["jacobian"]})


def test_detector_internals(golden: dict[str, Any], golden_model: GoldenModel) -> None:
    model = golden_model(golden)
    internals = golden["kp_detector_internals_source"]
    source = golden["source"].contiguous(memory_format=torch.channels_last)
    detector = model.kp_detector
    with torch.inference_mode():
        down = detector.down(source)
        features = detector.predictor(down)
        assert_close(down, internals["down"], 1e-6)
        # Our blur is separable (rows then columns): float rounding differs from the dense
        # kernel by ~1e-7, which the hourglass amplifies to ~1e-5 here, still well inside
        # the keypoints' 1e-4.
        assert_close(features, internals["feature_map"], ATOL_KP)
        assert_close(detector.kp(features), internals["kp_conv"], ATOL_KP)
        assert_close(detector.jacobian(features), internals["jacobian_conv"], ATOL_KP)


@pytest.mark.parametrize("mode", list(MODES))
def test_keypoint_normalisation(golden: dict[str, Any], mode: str) -> None:
    motion, adapt = MODES[mode]
    normalized = normalize_keypoints(
        kp_of(golden["kp_source"]),
        kp_of(golden["kp_driving"]),
        kp_of(golden["kp_driving_initial"]),
        relative=motion is MotionMode.RELATIVE,
        extras=FommModel.keypoint_extras,
        adapt_movement_scale=adapt,
    )
    assert_close(normalized.value, golden["kp_norm"][mode]["value"], ATOL_KP)
    assert_close(normalized.extras[JACOBIAN], golden["kp_norm"][mode]["jacobian"], ATOL_KP)


def test_dense_motion_internals(golden: dict[str, Any], golden_model: GoldenModel) -> None:
    model = golden_model(golden)
    internals = golden["dense_motion_internals_relative_adapt"]
    dense = model.generator.dense_motion_network
    kp_source = kp_of(golden["kp_source"])
    kp_norm = kp_of(golden["kp_norm"]["relative_adapt"])
    source = golden["source"].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        source_down = dense.downsample(source)
        h, w = source_down.shape[2:]
        assert_close(source_down, internals["source_down"], 1e-6)
        assert_close(
            dense.heatmap_representation(h, w, kp_norm, kp_source),
            internals["heatmap_representation"],
            ATOL_MOTION,
        )
        assert_close(
            dense.sparse_motion(h, w, kp_norm, kp_source), internals["sparse_motion"], ATOL_MOTION
        )


@pytest.mark.parametrize("batch_size", [1, 4])
def test_animation_outputs_relative_adapt(
    golden: dict[str, Any], batch_size: int, golden_model: GoldenModel
) -> None:
    expected = golden["outputs"]["relative_adapt"]
    animator = Animator(golden_model(golden))
    session = animator.session(golden["source"][0], adapt_scale=True, with_deformed=True)
    outputs = [session.animate_batch_details(b) for b in golden["driving"].split(batch_size)]
    motions = [o.motion for o in outputs]
    assert_close(torch.cat([m.mask for m in motions]), expected["mask"], ATOL_MOTION)
    assert_close(
        torch.cat([m.sparse_deformed for m in motions]), expected["sparse_deformed"], ATOL_MOTION
    )
    assert_close(
        torch.cat([m.occlusion_map for m in motions]), expected["occlusion_map"], ATOL_MOTION
    )
    assert_close(torch.cat([m.deformation for m in motions]), expected["deformation"], ATOL_MOTION)
    assert_close(torch.cat([o.deformed for o in outputs]), expected["deformed"], ATOL_DEFORMED)
    assert_close(
        torch.cat([o.prediction for o in outputs]), expected["prediction"], ATOL_PREDICTION
    )


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("batch_size", [1, 4])
def test_streamed_predictions(
    golden: dict[str, Any], mode: str, batch_size: int, golden_model: GoldenModel
) -> None:
    motion, adapt = MODES[mode]
    animator = Animator(golden_model(golden))
    session = animator.session(golden["source"][0], mode=motion, adapt_scale=adapt)
    frames = list(session.animate(iter(golden["driving"]), batch_size=batch_size))
    assert len(frames) == 4
    assert_close(torch.stack(frames), golden["outputs"][mode]["prediction"], ATOL_PREDICTION)


def test_deformed_not_computed_unless_asked(
    golden: dict[str, Any], golden_model: GoldenModel
) -> None:
    session = Animator(golden_model(golden)).session(golden["source"][0])
    assert session.animate_batch_details(golden["driving"][:1]).deformed is None


def test_keypoints_and_motion_stay_float32_under_autocast(
    golden: dict[str, Any], golden_model: GoldenModel
) -> None:
    """`float32_forward`: under autocast (bf16 on the CPU here; fp16/bf16 on CUDA in use)
    the keypoint detector and the dense motion give their float32 results bit for bit,
    while the rest of the generator does run in reduced precision."""
    model = golden_model(golden)
    source, driving = golden["source"], golden["driving"]
    with torch.inference_mode():
        kp_source = model.kp_detector(source)
        kp_driving = model.kp_detector(driving)
        encoding = model.generator.encode_source(source)
        expected = model.generator.decode(encoding, kp_driving, kp_source)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            kp_autocast = model.kp_detector(driving)
            generated = model.generator.decode(encoding, kp_driving, kp_source)
    assert torch.equal(kp_autocast.value, kp_driving.value)
    assert torch.equal(kp_autocast.extras[JACOBIAN], kp_driving.extras[JACOBIAN])
    for name in ("mask", "sparse_deformed", "deformation", "occlusion_map"):
        assert torch.equal(getattr(generated.motion, name), getattr(expected.motion, name)), name
    assert generated.prediction.dtype == torch.bfloat16
    assert not torch.equal(generated.prediction.float(), expected.prediction)
