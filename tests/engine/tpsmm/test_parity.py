"""Our TPSMM against the original implementation's numbers (golden tensors from the
reference code on a narrow vox-like model), at the tolerances of tolerance.json."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from animatecli.engine import Animator, Keypoints
from animatecli.engine.tpsmm.tps import ThinPlateSplines

from ..references import TPSMM_ATOL_KP, TPSMM_ATOL_PREDICTION, GoldenModel, assert_close

# The reference's suggested tolerances for a float32 re-implementation (README there).
ATOL_KP = TPSMM_ATOL_KP
ATOL_THETA = 1e-3
ATOL_TPS = 2e-3  # control params, transformations
ATOL_MOTION = 2e-3  # contribution maps, deformation, occlusion maps
ATOL_DEFORMED_SOURCE = 5e-3
ATOL_PREDICTION = TPSMM_ATOL_PREDICTION
ATOL_DEFORMED = 3e-2

MODES = ("relative", "standard", "avd")


def kp_of(entry: dict[str, torch.Tensor]) -> Keypoints:
    return Keypoints(entry["fg_kp"])


def test_detector_internals(golden: dict[str, Any], golden_model: GoldenModel) -> None:
    internals = golden["kp_detector_internals"]
    trunk = golden_model(golden).kp_detector.fg_encoder
    source = golden["source"].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        stages = trunk.features(source)
        logits = trunk(torch.cat([golden["source"], golden["driving"][:1], golden["driving"]]))
    names = ("maxpool", "layer1", "layer2", "layer3", "layer4")
    for name, ours in zip(names, stages, strict=True):
        assert_close(ours, internals[name], 1e-4)
    assert_close(logits, internals["fc_logits"], 1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_keypoint_transfer(golden: dict[str, Any], mode: str, golden_model: GoldenModel) -> None:
    session = Animator(golden_model(golden)).session(
        golden["source"], mode=mode, initial=golden["driving"][:1]
    )
    normalized = session.normalized(kp_of(golden["kp_driving"]))
    assert not normalized.extras
    assert_close(normalized.value, golden["modes"][mode]["kp_norm"]["fg_kp"], ATOL_KP)


@pytest.mark.parametrize("mode", MODES)
def test_thin_plate_splines(golden: dict[str, Any], mode: str) -> None:
    expected = golden["modes"][mode]["tps"]
    splines = ThinPlateSplines.solve(
        golden["modes"][mode]["kp_norm"]["fg_kp"], golden["kp_source"]["fg_kp"]
    )
    assert_close(splines.control_points, expected["control_points"], 0.0)
    assert_close(splines.theta, expected["theta"], ATOL_THETA)
    assert_close(splines.control_params, expected["control_params"], ATOL_TPS)


def test_dense_motion_internals(golden: dict[str, Any], golden_model: GoldenModel) -> None:
    expected = golden["modes"]["relative"]["dense_motion"]
    dense = golden_model(golden).dense_motion_network
    kp_driving = kp_of(golden["modes"]["relative"]["kp_norm"])
    kp_source = kp_of(golden["kp_source"])
    source = golden["source"].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        source_down = dense.downsample(source)
        assert_close(source_down, expected["source_down"], 1e-6)
        h, w = source_down.shape[2:]
        heatmap = dense.heatmap_representation(h, w, kp_driving, kp_source)
        assert_close(heatmap, expected["heatmap_representation"], ATOL_MOTION)
        motion = dense(source, kp_driving, kp_source)
        features = torch.cat([heatmap, motion.deformed_source.flatten(1, 2)], dim=1)
        stages = dense.hourglass.stages(features)
        for ours, theirs in zip(stages, expected["hourglass_outputs"], strict=True):
            assert_close(ours, theirs, ATOL_DEFORMED_SOURCE)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_animation_outputs(
    golden: dict[str, Any], mode: str, batch_size: int, golden_model: GoldenModel
) -> None:
    expected = golden["modes"][mode]
    session = Animator(golden_model(golden)).session(
        golden["source"][0], mode=mode, with_deformed=True
    )
    outputs = [session.animate_batch_details(b) for b in golden["driving"].split(batch_size)]
    motions = [o.motion for o in outputs]
    dense = expected["dense_motion"]

    def cat(name: str) -> torch.Tensor:
        return torch.cat([getattr(m, name) for m in motions])

    assert_close(cat("transformations"), dense["transformations"], ATOL_TPS)
    assert_close(cat("deformed_source"), dense["deformed_source"], ATOL_DEFORMED_SOURCE)
    assert_close(cat("contribution_maps"), dense["contribution_maps"], ATOL_MOTION)
    assert_close(cat("deformation"), dense["deformation"], ATOL_MOTION)
    for level, reference in enumerate(dense["occlusion_map"]):
        ours = torch.cat([m.occlusion_map[level] for m in motions])
        assert_close(ours, reference, ATOL_MOTION)
    deformed = torch.cat([o.deformed for o in outputs])
    assert_close(deformed, expected["inpainting"]["deformed"], ATOL_DEFORMED)
    prediction = torch.cat([o.prediction for o in outputs])
    assert_close(prediction, expected["prediction"], ATOL_PREDICTION)


def test_background_affine_of_the_reconstruction_protocol(
    golden: dict[str, Any], golden_model: GoldenModel
) -> None:
    """Not on the animation path: the training/reconstruction background transform."""
    expected = golden["extras"]["bg_affine_not_in_demo"]
    model = golden_model(golden)
    kp_driving = kp_of(expected["kp_driving_used"])
    kp_source = kp_of(golden["kp_source"])
    with torch.inference_mode():
        encoding = model.encode_source(golden["source"])
        motion = model.dense_motion_network(
            golden["source"], kp_driving, kp_source, background=expected["bg_param"]
        )
        generated = model.inpainting_network.decode(encoding, motion)
    assert_close(motion.transformations, expected["transformations"], ATOL_TPS)
    assert_close(motion.contribution_maps, expected["contribution_maps"], ATOL_MOTION)
    assert_close(motion.deformation, expected["deformation"], ATOL_MOTION)
    assert_close(generated.prediction, expected["prediction"], ATOL_PREDICTION)


def test_motion_stays_float32_under_autocast(
    golden: dict[str, Any], golden_model: GoldenModel
) -> None:
    """Keypoints and the dense motion (TPS solves, softmax) give their float32 results bit
    for bit under autocast, while the inpainting network runs in reduced precision."""
    model = golden_model(golden)
    source, driving = golden["source"], golden["driving"]
    with torch.inference_mode():
        kp_source, kp_driving = model.detect(source), model.detect(driving)
        encoding = model.encode_source(source)
        expected = model.generate(encoding, kp_driving, kp_source)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            kp_autocast = model.detect(driving)
            generated = model.generate(encoding, kp_driving, kp_source)
    assert torch.equal(kp_autocast.value, kp_driving.value)
    assert torch.equal(generated.motion.deformation, expected.motion.deformation)
    # The final blend with the float32 warped source promotes the result back to float32.
    assert not torch.equal(generated.prediction, expected.prediction)
