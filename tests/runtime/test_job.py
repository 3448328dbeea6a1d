"""One job through its public API: the stages in order, its output and its result."""

from __future__ import annotations

from pathlib import Path

import pytest

from animatecli.errors import OutputExistsError
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.paths import OutputKind
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.preflight import CheckedOutput, check_job_files
from animatecli.runtime.runtime import Runtime

from .recording import RecordingReporter

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "examples" / "source.png"
# The CLI's --json object: its keys are a documented interface.
RESULT_KEYS = {
    "output", "frames", "fps", "fps_fraction", "seconds", "processing_fps", "device",
    "upscale", "checkpoint", "alignment_frame", "alignment_method", "audio_kept", "width", "height",
    "driving_crop", "smoothing", "encoder", "decoder", "cuda_graph", "faces", "stage_seconds",
    "threads", "decode_errors", "notices", "provenance",
}  # fmt: skip


@pytest.fixture(scope="module")
def runtime(tiny_checkpoint: Path) -> Runtime:
    return Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))


def test_a_job_reports_its_stages_and_writes_every_frame(
    runtime: Runtime, samples: object, tmp_path: Path
) -> None:
    reporter = RecordingReporter()
    options = AnimateOptions(align="best", crop_source="off", crop_driving="off", detector="lbp")
    out = tmp_path / "out.mp4"
    result = AnimationJob(runtime, options, reporter).run(SOURCE, samples.v25, out)  # type: ignore[attr-defined]
    assert out.stat().st_size > 0 and result.output == out
    assert [stage for stage, _ in reporter.stages] == ["aligning", "animating"]
    assert reporter.advanced == 2 * 25  # the alignment pass and the animate stage
    assert result.frames == 25 and result.size == (64, 64)
    # The LBP cascade has no landmarks: the search ran on the model's keypoints, said once.
    assert result.alignment.method == "best frame by model keypoints"
    assert len(reporter.notices) == 1 and "has no face landmarks" in reporter.notices[0]
    payload = result.to_dict()
    assert set(payload) == RESULT_KEYS
    assert payload["notices"] == reporter.notices  # every notice the job said, in --json too
    assert list(payload["stage_seconds"]) == ["source", "align", "animate", "finalize"]
    # On by default: the watermark's output id, signed credentials, the label.
    marks = payload["provenance"]
    assert marks["watermark"]["embedded"] and len(marks["watermark"]["output_id"]) == 4
    assert marks["credentials"]["signed"] and "AI-generated" in marks["label"]


def test_a_job_refuses_an_existing_output_before_any_work(
    runtime: Runtime, samples: object, tmp_path: Path
) -> None:
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"keep me")
    reporter = RecordingReporter()
    with pytest.raises(OutputExistsError):
        AnimationJob(runtime, AnimateOptions(), reporter).run(SOURCE, samples.v25, out)  # type: ignore[attr-defined]
    assert reporter.stages == [] and out.read_bytes() == b"keep me"


def test_files_checked_before_the_model_loads_are_not_checked_again(
    runtime: Runtime, samples: object, tmp_path: Path
) -> None:
    options = AnimateOptions(align="first", crop_source="off", crop_driving="off")
    checked = check_job_files(SOURCE, samples.v25, f"{tmp_path}/frames/", options, "cpu")  # type: ignore[attr-defined]
    assert checked == CheckedOutput(f"{tmp_path}/frames/", OutputKind.PNG_DIR)
    result = AnimationJob(runtime, options).run(SOURCE, samples.v25, checked)  # type: ignore[attr-defined]
    assert result.frames == 25 and len(list((tmp_path / "frames").glob("frame_*.png"))) == 25
