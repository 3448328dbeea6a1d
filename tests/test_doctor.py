"""``animate doctor``'s report (animatecli.doctor): what it finds on this machine, a failure
reported as a row instead of raised, and the table it prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console

from animatecli import __version__
from animatecli.doctor import collect, render
from animatecli.options import ModelOptions


@pytest.fixture(scope="module")
def report(tiny_checkpoint: Path) -> dict[str, Any]:
    return collect(ModelOptions(checkpoint=tiny_checkpoint, device="cpu", threads=2))


def rendered(report: dict[str, Any]) -> str:
    console = Console(record=True, width=240, color_system=None)
    render(report, console)
    return console.export_text()


def test_the_report_is_json_and_describes_this_installation(
    report: dict[str, Any], tiny_checkpoint: Path
) -> None:
    assert json.loads(json.dumps(report)) == report  # --json prints it as it is
    assert (report["animatecli"], report["torch"]) == (__version__, torch.__version__)
    assert report["cuda_available"] is torch.cuda.is_available()
    assert report["devices"][0]["name"] == "cpu"
    assert report["ffmpeg"]["ok"] and report["ffmpeg"]["version"].startswith("ffmpeg version")
    assert set(report["video_engines"]) == {"nvenc", "nvdec"}
    threads = report["threads"]  # --threads 2: used as given, not shared
    assert (threads["source"], threads["cpus"], threads["compute"]) == ("--threads", 2, 2)
    checkpoint = report["checkpoint"]
    assert checkpoint["ok"] and checkpoint["origin"] == "--checkpoint"
    assert Path(checkpoint["path"]) == tiny_checkpoint
    assert checkpoint["family"] == "fomm" and checkpoint["config"]["frame_shape"] == [64, 64]
    backends = {b["name"]: b for b in report["face_backends"]}
    assert backends["lbp"]["usable"] and not backends["lbp"]["landmarks"]  # always offline
    assert "weights" in backends["face-alignment"]


def test_a_model_that_does_not_load_is_a_row_not_a_failure(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pt"
    checkpoint = collect(ModelOptions(checkpoint=missing, device="cpu"))["checkpoint"]
    assert checkpoint["ok"] is False
    assert str(missing) in checkpoint["error"] and "\n" not in checkpoint["error"]


def test_the_table_shows_every_part_of_the_report(report: dict[str, Any]) -> None:
    text = rendered(report)
    for row in ("animatecli", "python", "torch", "CUDA", "device cpu", "threads for a job"):
        assert row in text
    assert report["ffmpeg"]["version"] in text
    assert "ffmpeg NVENC" in text and "ffmpeg NVDEC" in text
    assert f"{report['checkpoint']['path']} (--checkpoint)" in text
    assert report["threads"]["reason"] in text
    assert "FOMM (animatecli), config custom" in text and "64x64" in text
    assert ", ".join(report["checkpoint"]["modes"]) in text
    chosen = next(b["name"] for b in report["face_backends"] if b["usable"])
    assert f"faces: {chosen}" in text and "used by --detector auto" in text
    assert text.count("used by --detector auto") == 1


def test_the_table_shows_failures_as_their_reasons(report: dict[str, Any]) -> None:
    broken = {
        **report,
        "ffmpeg": {"ok": False, "error": "ffmpeg binary not found"},
        "checkpoint": {"ok": False, "error": "checkpoint x.pt does not exist"},
    }
    text = rendered(broken)
    assert "ffmpeg binary not found" in text
    assert "checkpoint x.pt does not exist" in text
    assert "modes" not in text
