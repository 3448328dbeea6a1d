"""The source stage: the photo loaded and the region the model animates chosen.

Face crops of a real face are in tests/faces/test_faces_pipeline.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from animatecli import media
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime
from animatecli.runtime.source import prepare_faces, prepare_source

from .recording import RecordingReporter


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


@pytest.fixture
def noise(tmp_path: Path) -> Path:
    path = tmp_path / "noise.png"
    media.save_png(path, np.random.default_rng(2).integers(0, 256, (30, 60, 3), dtype=np.uint8))
    return path


def test_without_a_face_crop_the_whole_photo_is_fitted(runtime: Runtime, noise: Path) -> None:
    job = AnimationJob(runtime, AnimateOptions(crop_source="off", fit="crop"))
    prepared = prepare_source(job, noise)
    assert prepared.box == (15, 0, 45, 30)  # the centre square of 60×30
    assert prepared.model_input.shape == (64, 64, 3) and prepared.face_found is None
    np.testing.assert_array_equal(prepared.full, media.load_image(noise))


def test_no_face_found_is_said_once_and_the_photo_used_whole(runtime: Runtime, noise: Path) -> None:
    reporter = RecordingReporter()
    job = AnimationJob(runtime, AnimateOptions(detector="opencv"), reporter)
    prepared = prepare_source(job, noise)
    prepare_source(job, noise)
    assert prepared.face_found is False and prepared.box == (15, 0, 45, 30)
    assert reporter.notices == ["no face found in noise.png; animating the whole image (crop)"]


def test_several_faces_asked_of_a_photo_without_any(runtime: Runtime, noise: Path) -> None:
    reporter = RecordingReporter()
    job = AnimationJob(runtime, AnimateOptions(faces="2", detector="opencv"), reporter)
    assert prepare_faces(job, noise) == []
    assert reporter.notices == ["--faces 2: no face found in noise.png"]
