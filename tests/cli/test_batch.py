"""``animate batch``: pairs, failures, resume, shards and interruption."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from testutil import Samples, ffmpeg
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.media import probe_streams

from .cli_testutil import finish, start

runner = CliRunner()
FAST = [
    "--crop-source", "off", "--crop-driving", "off", "--align", "first", "--preset", "ultrafast"
]  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path, samples: Samples) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    rng = np.random.default_rng(3)
    for name in ("alice.png", "bob.jpg"):
        cv2.imwrite(str(root / name), rng.integers(0, 255, (80, 80, 3), dtype=np.uint8))
    shutil.copy(samples.v25, root / "talk.mp4")
    shutil.copy(samples.v30_audio, root / "nod.mov")
    (root / "corrupt.mp4").write_text("not a video at all")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def batch(*args: str | Path, checkpoint: Path) -> tuple[int, dict]:
    result = runner.invoke(
        app, ["batch", *map(str, args), "--json", *FAST, "--checkpoint", str(checkpoint)]
    )
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_good_pairs_done_failures_reported_and_rerun_skips(
    folder: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    code, result = batch(folder, "--report", report, checkpoint=tiny_checkpoint)
    assert code == 4
    by_status: dict[str, list[dict]] = {}
    for pair in result["pairs"]:
        by_status.setdefault(pair["status"], []).append(pair)
    ok = sorted(Path(p["output"]).name for p in by_status["ok"])
    assert ok == [
        "alice__nod.mp4",
        "alice__talk.mp4",
        "bob__nod.mp4",
        "bob__talk.mp4",
    ]
    # 3 sources x 3 videos: broken.png fails with all 3, corrupt.mp4 with the 2 good images.
    assert len(by_status["failed"]) == 5
    assert all(p["error"] for p in by_status["failed"])
    outdir = folder / "animated"
    for name in ok:
        streams = {s.kind: s for s in probe_streams(outdir / name)}
        assert streams["video"].frames in (25, 30)
    assert sorted(p.name for p in outdir.iterdir()) == ok  # no partial files
    saved = json.loads(report.read_text())
    assert saved["summary"] == {"ok": 4, "skipped": 0, "failed": 5}

    code, again = batch(folder, checkpoint=tiny_checkpoint)
    assert code == 4
    assert sum(p["status"] == "skipped" for p in again["pairs"]) == 4
    assert sum(p["status"] == "ok" for p in again["pairs"]) == 0


def test_fail_fast_stops_at_first_error(folder: Path, tiny_checkpoint: Path) -> None:
    code, result = batch(folder, "--fail-fast", checkpoint=tiny_checkpoint)
    assert code == 4
    assert result["pairs"][-1]["status"] == "failed"
    assert len(result["pairs"]) < 9


def test_shards_cover_every_pair_once(folder: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    for bad in ("corrupt.mp4", "broken.png"):
        (folder / bad).unlink()
    names = []
    for index in range(2):
        code, result = batch(
            folder, "-o", tmp_path / "out", "--shard", f"{index}/2", checkpoint=tiny_checkpoint
        )
        assert code == 0
        names += [Path(p["output"]).name for p in result["pairs"]]
    assert sorted(names) == sorted(set(names))
    assert len(names) == 4


def test_pairs_file(folder: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    pairs = folder / "pairs.csv"
    pairs.write_text("source,driving,output\nalice.png,talk.mp4,custom.mp4\nbob.jpg,nod.mov\n")
    code, result = batch(folder, "--pairs", pairs, "-o", tmp_path / "o", checkpoint=tiny_checkpoint)
    assert code == 0
    assert [Path(p["output"]).name for p in result["pairs"]] == ["custom.mp4", "bob__nod.mp4"]


def test_bad_shard_and_empty_folder(tmp_path: Path, tiny_checkpoint: Path) -> None:
    result = runner.invoke(app, ["batch", str(tmp_path), "--checkpoint", str(tiny_checkpoint)])
    assert result.exit_code == 2
    assert "needs at least one image and one video" in result.stderr
    result = runner.invoke(app, ["batch", str(tmp_path), "--shard", "3/2"])
    assert result.exit_code == 2


def test_killed_run_then_rerun_gives_complete_outputs(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    cv2.imwrite(str(root / "face.png"), np.full((64, 64, 3), 128, np.uint8))
    for name in ("long1", "long2"):
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-t", "12",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               str(root / f"{name}.mp4"))  # fmt: skip
    outdir = root / "animated"
    command = [sys.executable, "-m", "animatecli", "batch", str(root), "-q", *FAST,
               "--checkpoint", str(tiny_checkpoint)]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if outdir.is_dir() and any(p.name.startswith(".") for p in outdir.iterdir()):
            break
        time.sleep(0.02)
    assert process.poll() is None, "batch finished before it could be interrupted"
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = [p for p in outdir.iterdir() if not p.name.startswith(".")]
    assert len(finished_before) < 2

    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    outputs = sorted(outdir.iterdir())
    assert [p.name for p in outputs] == ["face__long1.mp4", "face__long2.mp4"]
    for path in outputs:
        streams = {s.kind: s for s in probe_streams(path)}
        assert streams["video"].frames == 300


def test_jobs_share_the_pairs_without_duplicates_or_losses(
    folder: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    code, result = batch(folder, "--jobs", "2", "--report", report, checkpoint=tiny_checkpoint)
    assert code == 4
    serial_outdir = tmp_path / "serial"
    _, serial = batch(folder, "-o", serial_outdir, checkpoint=tiny_checkpoint)
    # Every pair reported once, in the serial order, with the serial outcome.
    names = [Path(p["output"]).name for p in result["pairs"]]
    assert names == [Path(p["output"]).name for p in serial["pairs"]]
    assert len(set(names)) == len(names) == 9
    assert [p["status"] for p in result["pairs"]] == [p["status"] for p in serial["pairs"]]
    assert json.loads(report.read_text())["summary"] == {"ok": 4, "skipped": 0, "failed": 5}
    outdir = folder / "animated"
    assert sorted(p.name for p in outdir.iterdir()) == sorted(
        p.name for p in serial_outdir.iterdir()
    )
    for pair in result["pairs"]:
        if pair["status"] == "ok":
            frames = {s.kind: s for s in probe_streams(pair["output"])}["video"].frames
            assert frames == pair["frames"]


def test_jobs_report_a_model_that_cannot_load_once(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = runner.invoke(
        app, ["batch", str(folder), "--jobs", "2", *FAST, "--checkpoint", str(bad)]
    )
    assert result.exit_code not in (0, 1)
    assert result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_one_pixel_photo_with_paste_back_fails_alone(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path, jobs: str
) -> None:
    """Issue 28 item 10: that pair fails with one line, the other pair is made, the report
    is complete, and no worker prints a traceback."""
    root = tmp_path / "in"
    root.mkdir()
    rng = np.random.default_rng(5)
    cv2.imwrite(str(root / "good.png"), rng.integers(0, 255, (80, 80, 3), dtype=np.uint8))
    cv2.imwrite(str(root / "thin.png"), np.full((64, 1, 3), 128, np.uint8))
    shutil.copy(samples.v25, root / "talk.mp4")
    args = ("batch", "in", "--paste-back", "--report", "r.json", "--jobs", jobs, *FAST)
    proc = finish(start(args, tmp_path, tiny_checkpoint))
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 4, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    by_source = {Path(p["source"]).name: p for p in report["pairs"]}
    assert by_source["good.png"]["status"] == "ok"
    assert by_source["thin.png"]["status"] == "failed"
    assert "1×64 px is too small" in by_source["thin.png"]["error"]
    assert report["summary"] == {"ok": 1, "skipped": 0, "failed": 1}
    assert sorted(p.name for p in (root / "animated").iterdir()) == ["good__talk.mp4"]


def test_folder_names_that_would_collide_get_distinct_outputs(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    """Issue 28 item 15: x.png × y__z.mp4 and x__y.png × z.mp4 would both be x__y__z.mp4;
    each gets its own name and all four pairs are made."""
    root = tmp_path / "in"
    root.mkdir()
    rng = np.random.default_rng(7)
    for name in ("x.png", "x__y.png"):
        cv2.imwrite(str(root / name), rng.integers(0, 255, (80, 80, 3), dtype=np.uint8))
    for name in ("y__z.mp4", "z.mp4"):
        shutil.copy(samples.v25, root / name)
    code, result = batch(root, checkpoint=tiny_checkpoint)
    assert code == 0
    assert [p["status"] for p in result["pairs"]] == ["ok"] * 4
    made = sorted(p.name for p in (root / "animated").iterdir())
    assert made == [
        "x.png__y__z.mp4.mp4",
        "x__y.png__z.mp4.mp4",
        "x__y__y__z.mp4",
        "x__z.mp4",
    ]
    outputs = {
        (Path(p["source"]).name, Path(p["driving"]).name): p["output"] for p in result["pairs"]
    }
    assert Path(outputs[("x.png", "y__z.mp4")]).name == "x.png__y__z.mp4.mp4"
    assert Path(outputs[("x__y.png", "z.mp4")]).name == "x__y.png__z.mp4.mp4"
