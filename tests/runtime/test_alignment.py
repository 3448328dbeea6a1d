"""The alignment stage through its public function, with and without a driving crop."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from animatecli import media
from animatecli.engine import frames_to_tensor
from animatecli.errors import InputError
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.alignment import align
from animatecli.runtime.driving import fitted_frames
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime
from animatecli.runtime.source import prepare_source

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "examples" / "source.png"


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


def aligned(runtime: Runtime, driving: Path, **options: object):  # type: ignore[no-untyped-def]
    job = AnimationJob(runtime, AnimateOptions(crop_source="off", **options))  # type: ignore[arg-type]
    return align(job, prepare_source(job, SOURCE), media.probe_video(driving))


def test_absolute_motion_needs_no_alignment(runtime: Runtime, samples: object) -> None:
    crop, alignment = aligned(runtime, samples.v25, mode="absolute", crop_driving="off")  # type: ignore[attr-defined]
    assert crop is None and (alignment.index, alignment.method) == (0, "none (absolute motion)")


def test_first_frame_alignment(runtime: Runtime, samples: object) -> None:
    crop, alignment = aligned(runtime, samples.v25, align="first", crop_driving="off")  # type: ignore[attr-defined]
    assert crop is None
    assert (alignment.index, alignment.method, alignment.keypoints) == (0, "first frame", None)


def test_a_given_frame_brings_its_keypoints(runtime: Runtime, samples: object) -> None:
    _, alignment = aligned(runtime, samples.v25, align="7", crop_driving="off")  # type: ignore[attr-defined]
    assert (alignment.index, alignment.method) == (7, "given")
    info = media.probe_video(samples.v25)  # type: ignore[attr-defined]
    frames = list(fitted_frames(info, runtime.decoder, runtime.frame_hw, "crop"))
    expected = runtime.animator.keypoints(frames_to_tensor(frames[7]))
    assert alignment.keypoints is not None
    assert torch.allclose(alignment.keypoints.value, expected.value, atol=1e-6)


def test_a_frame_past_the_end_is_refused(runtime: Runtime, samples: object) -> None:
    with pytest.raises(InputError, match="has only 25 frames"):
        aligned(runtime, samples.v25, align="40", crop_driving="off")  # type: ignore[attr-defined]


def test_without_a_face_the_driving_crop_falls_back_to_whole_frames(
    runtime: Runtime, samples: object
) -> None:
    """--crop-driving auto on a video with no face: no crop, the same alignment as off."""
    with_crop = aligned(runtime, samples.v25, align="3", detector="lbp")  # type: ignore[attr-defined]
    without = aligned(runtime, samples.v25, align="3", detector="lbp", crop_driving="off")  # type: ignore[attr-defined]
    assert with_crop[0] is None and without[0] is None
    assert with_crop[1].index == without[1].index == 3
    assert torch.equal(with_crop[1].keypoints.value, without[1].keypoints.value)  # type: ignore[union-attr]
