"""A job with ``--upscale``: ``auto``'s choice and a job that would take hours are said
before any long pass starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testutil import ffmpeg

from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime

from .recording import RecordingReporter

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "examples" / "source.png"


class StopAtFirstStage(RecordingReporter):
    """Interrupts the job when its first long pass (the alignment) starts."""

    def start(self, stage: str, total: int | None) -> None:
        super().start(stage, total)
        raise KeyboardInterrupt


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 frames (80 s at 25 fps) of 64×64: hours of x4plus on the CPU."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:size=64x64:rate=25", "-t", "80",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


@pytest.mark.parametrize(
    ("upscaler", "expected"),
    [
        ("photo", r"upscaling with photo will take about \d+\.\d h .*animevideo is about 30"),
        ("auto", r"^auto: animevideo \(x4plus would take about \d+ min on the CPU\)$"),
    ],
)
def test_the_choice_and_a_job_of_hours_are_said_before_the_alignment_pass(
    runtime: Runtime, long_clip: Path, tmp_path: Path, upscaler: str, expected: str
) -> None:
    reporter = StopAtFirstStage()
    options = AnimateOptions(crop_source="off", crop_driving="off", upscale="2", upscaler=upscaler)
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        AnimationJob(runtime, options, reporter).run(SOURCE, long_clip, out)
    assert reporter.stages[0][0] == "aligning"  # nothing long ran before the notices
    assert any(re.search(expected, notice) for notice in reporter.notices), reporter.notices
    assert not out.exists()
