"""``animate`` on a CUDA device, through the real CLI and real ffmpeg, on the examples.

Skipped where there is no GPU (CI has none); `make cuda-check` runs them where one is.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.media import probe_streams

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE, DRIVING = EXAMPLES / "source.png", EXAMPLES / "driving.mp4"


def run_json(*args: str | Path) -> dict:
    result = runner.invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def png_frames(folder: Path) -> np.ndarray:
    return np.stack([cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))]).astype(np.int16)


def test_doctor_lists_the_gpu() -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    report = json.loads(result.stdout)
    assert report["cuda_available"] is True
    assert any(d["name"].startswith("cuda:") for d in report["devices"])


def test_fp16_run_keeps_frames_rate_and_audio(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    report = run_json(SOURCE, DRIVING, "-o", out, "--device", "cuda", "--fp16")
    assert report["device"].startswith("cuda")
    streams = {s.kind: s for s in probe_streams(out)}
    assert streams["video"].frames == report["frames"] == probe_streams(DRIVING)[0].frames
    assert report["audio_kept"] and "audio" in streams
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_gpu_frames_match_cpu_frames(tmp_path: Path, precision: str) -> None:
    """Same job on both devices, lossless PNG output."""
    # Unmarked: two outputs carry different watermark ids.
    common = ["--align", "best", "--overwrite", "--watermark", "off"]
    cpu, gpu = tmp_path / "cpu", tmp_path / "gpu"
    cpu_report = run_json(SOURCE, DRIVING, "-o", f"{cpu}/", "--device", "cpu", *common)
    extra = ["--fp16"] if precision == "fp16" else []
    gpu_report = run_json(SOURCE, DRIVING, "-o", f"{gpu}/", "--device", "cuda", *extra, *common)
    # The best-frame search runs on the model's keypoints: both devices must pick the same.
    assert gpu_report["alignment_frame"] == cpu_report["alignment_frame"]
    diff = np.abs(png_frames(gpu) - png_frames(cpu))
    # fp32 differs from the CPU by float rounding only, which can flip a pixel's rounding
    # to 8 bits; fp16 by a fraction of a level on average (see tests/engine/test_cuda.py).
    mean_limit, max_limit = (0.05, 1) if precision == "fp32" else (0.2, 8)
    assert diff.mean() < mean_limit, f"{precision}: mean {diff.mean():.3f}, max {diff.max()}"
    assert diff.max() <= max_limit, f"{precision}: max {diff.max()}"


def test_cuda_graphs_keep_the_eager_frames(tmp_path: Path) -> None:
    common = [
        "--device", "cuda", "--fp16", "--align", "best", "--overwrite", "--watermark", "off"
    ]  # fmt: skip
    eager, graphed = tmp_path / "eager", tmp_path / "graphed"
    eager_report = run_json(SOURCE, DRIVING, "-o", f"{eager}/", *common)
    report = run_json(SOURCE, DRIVING, "-o", f"{graphed}/", *common, "--cuda-graphs")
    assert eager_report["cuda_graph"] is None
    assert report["cuda_graph"] == "CUDA graph replayed at batch 8"
    assert report["frames"] == eager_report["frames"]
    assert np.abs(png_frames(graphed) - png_frames(eager)).max() <= 1
