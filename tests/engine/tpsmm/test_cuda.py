"""TPSMM on a CUDA device: parity with the reference and reduced precision.

Skipped where there is no GPU (CI has none); `make cuda-check` runs them where one is.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from animatecli.engine import Animator

from ..references import GoldenModel
from .test_parity import ATOL_KP, ATOL_MOTION, ATOL_PREDICTION, MODES, assert_close

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_reference_numbers_on_cuda(
    golden: dict[str, Any], mode: str, batch_size: int, golden_model: GoldenModel
) -> None:
    expected = golden["modes"][mode]
    animator = Animator(golden_model(golden), device="cuda", channels_last=True)
    kp = animator.keypoints(golden["driving"])
    assert_close(kp.value.cpu(), golden["kp_driving"]["fg_kp"], ATOL_KP)
    session = animator.session(golden["source"][0], mode=mode)
    outputs = [session.animate_batch_details(b) for b in golden["driving"].split(batch_size)]
    deformation = torch.cat([o.motion.deformation for o in outputs]).cpu()
    assert_close(deformation, expected["dense_motion"]["deformation"], ATOL_MOTION)
    prediction = torch.cat([o.prediction for o in outputs]).cpu()
    assert_close(prediction, expected["prediction"], ATOL_PREDICTION)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_precision_keeps_the_motion_float32(
    golden: dict[str, Any], precision: str, golden_model: GoldenModel
) -> None:
    animator = Animator(golden_model(golden), device="cuda", precision=precision)
    session = animator.session(golden["source"][0])
    generated = session.animate_batch_details(golden["driving"])
    assert generated.motion.deformation.dtype == torch.float32
    expected = golden["modes"]["relative"]
    assert_close(
        generated.motion.deformation.cpu(), expected["dense_motion"]["deformation"], ATOL_MOTION
    )
    # Only the inpainting network runs in half precision: a few levels at most.
    assert_close(generated.prediction.float().cpu(), expected["prediction"], 0.05)
