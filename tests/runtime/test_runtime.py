"""The runtime is loaded once and shared by jobs; it holds no job's state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from animatecli import media, memory
from animatecli.errors import InputError
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime

from .recording import RecordingReporter


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


def test_the_runtime_describes_what_it_loaded(runtime: Runtime, tiny_checkpoint: Path) -> None:
    assert str(runtime.device) == "cpu"
    assert runtime.frame_hw == (64, 64)  # the tiny checkpoint's frame shape
    assert runtime.face_model  # not a body/object config
    assert runtime.decoder_name == "software"
    described = runtime.describe_checkpoint()
    assert Path(described["path"]) == tiny_checkpoint and described["origin"] == "--checkpoint"
    assert runtime.batch_size() == 1 and runtime.batch_size(AnimateOptions(batch_size=4)) == 4
    # On the CPU the generator's large maps stay out of the heap (`memory`).
    assert runtime.animator.generation_scope is memory.large_blocks_mapped


def test_a_mode_the_model_cannot_run_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InputError, match="avd"):
        runtime.check(AnimateOptions(mode="avd"))


def test_a_reused_runtime_gives_every_job_its_own_notices(
    runtime: Runtime, samples: object, tmp_path: Path
) -> None:
    """The same notice in two jobs is said in each (the old pipeline kept one set of
    notices for its life, so a server's second job stayed silent)."""
    photo = tmp_path / "wide.png"
    rng = np.random.default_rng(3)
    media.save_png(photo, rng.integers(0, 256, (40, 90, 3), dtype=np.uint8))  # no face
    options = AnimateOptions(align="first", crop_driving="off", detector="opencv")
    said = []
    for name in ("a.mp4", "b.mp4"):
        reporter = RecordingReporter()
        result = AnimationJob(runtime, options, reporter).run(
            photo,
            samples.v25,  # type: ignore[attr-defined]
            tmp_path / name,
        )
        assert result.frames == 25
        said.append(reporter.notices)
    assert (
        said[0] == said[1] == [f"no face found in {photo.name}; animating the whole image (crop)"]
    )
