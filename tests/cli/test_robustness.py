"""Defects that used to give wrong results silently, tracebacks or leftovers: file names
(shared stems, long names, Latin-1 pairs files), signals (SIGTERM, Ctrl-C while the modules
load, an interrupted batch's report) and the temporaries of killed runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testutil import Samples, ffmpeg
from typer.testing import CliRunner

from animatecli.atomic import host_tag
from animatecli.batch import read_pairs_file
from animatecli.cli import app
from animatecli.media import probe_streams, sinks

from .cli_testutil import assert_one_line_error, finish, snapshot, start, write_face

FAST = ("--crop-source", "off", "--align", "first", "--preset", "ultrafast", "--quiet")


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.fixture(scope="module")
def long_driving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96×64, 25 fps, 12 s: long enough to be interrupted mid-run."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-t", "12",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def test_sources_sharing_a_stem_are_both_animated(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_face(folder / "a.png")
    write_face(folder / "a.jpg", size=80)
    (folder / "d.mp4").write_bytes(samples.v25.read_bytes())
    proc = finish(start(("batch", "in", "--json", *FAST), tmp_path, tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"] == {"ok": 2, "skipped": 0, "failed": 0}
    names = sorted(p.name for p in (folder / "animated").iterdir())
    assert names == ["a.jpg__d.mp4", "a.png__d.mp4"]
    # The rerun finds both done: nothing is taken for an input, nothing redone.
    again = finish(start(("batch", "in", "--json", *FAST), tmp_path, tiny_checkpoint))
    assert json.loads(again.stdout)["summary"] == {"ok": 0, "skipped": 2, "failed": 0}


def test_long_output_names_work_up_to_the_limit(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    name = "猫" * 78 + ".mp4"  # 238 bytes: its hidden temporary name used to be too long
    proc = finish(
        start(("face.png", str(samples.v25), "-o", name, *FAST), tmp_path, tiny_checkpoint)
    )
    assert proc.returncode == 0, proc.stderr
    assert probe_streams(tmp_path / name)[0].frames == 25
    assert hidden(tmp_path) == []


def test_batch_long_stems_work_and_an_overlong_name_fails_only_its_pair(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    stem = "s" * 120
    write_face(tmp_path / f"{stem}.png")
    (tmp_path / f"{'d' * 120}.mp4").write_bytes(samples.v25.read_bytes())
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"{stem}.png,{'d' * 120}.mp4\n{stem}.png,{'d' * 120}.mp4,{'x' * 300}.mp4\n")
    proc = finish(
        start(
            ("batch", ".", "--pairs", "pairs.csv", "-o", "out", "--report", "r.json", *FAST),
            tmp_path,
            tiny_checkpoint,
        )
    )
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [p["status"] for p in report["pairs"]] == ["ok", "failed"]
    assert "too long" in report["pairs"][1]["error"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"{stem}__{'d' * 120}.mp4"]
    assert hidden(tmp_path) == []


def test_latin1_pairs_file_as_spreadsheets_save_it(tmp_path: Path) -> None:
    (tmp_path / "pairs.csv").write_bytes("source,driving\ncafé.png,señor.mp4\n".encode("cp1252"))
    (pair,) = read_pairs_file(tmp_path / "pairs.csv", tmp_path, tmp_path / "out")
    assert (pair.source.name, pair.driving.name) == ("café.png", "señor.mp4")
    assert pair.output.name == "café__señor.mp4"


def test_sigterm_during_a_run_removes_its_temporaries(
    tmp_path: Path, long_driving: Path, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    before = snapshot(tmp_path)
    proc = start(("face.png", str(long_driving), "-o", "out.mp4", *FAST), tmp_path, tiny_checkpoint)
    wait_for(lambda: hidden(tmp_path) != [] or proc.poll() is not None)
    proc.send_signal(signal.SIGTERM)
    assert_one_line_error(finish(proc), 143, "^error: terminated$")
    assert snapshot(tmp_path) == before


def test_ctrl_c_while_the_modules_load_is_one_line(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    before = snapshot(tmp_path)
    proc = start(("face.png", str(samples.v25), *FAST), tmp_path, tiny_checkpoint)
    time.sleep(0.4)  # inside the imports (torch alone takes over a second)
    proc.send_signal(signal.SIGINT)
    assert_one_line_error(finish(proc), 130, "^error: interrupted$")
    assert snapshot(tmp_path) == before


def test_interrupted_batch_still_writes_its_report(
    tmp_path: Path, long_driving: Path, tiny_checkpoint: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_face(folder / "a.png")
    write_face(folder / "b.png")
    (folder / "long.mp4").write_bytes(long_driving.read_bytes())
    proc = start(
        ("batch", "in", "--report", "report.json", *FAST[:-1], "--json"), tmp_path, tiny_checkpoint
    )
    first = folder / "animated" / "a__long.mp4"
    wait_for(lambda: first.exists() or proc.poll() is not None, timeout=240)
    wait_for(lambda: hidden(folder / "animated") != [] or proc.poll() is not None)
    proc.send_signal(signal.SIGTERM)
    done = finish(proc)
    assert done.returncode == 143, done.stderr
    assert done.stderr.splitlines()[-1] == "error: terminated"
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(Path(p["output"]).name, p["status"]) for p in report["pairs"]] == [
        ("a__long.mp4", "ok"),
        ("b__long.mp4", "failed"),
    ]
    assert report["pairs"][1]["error"] == "interrupted"
    assert hidden(tmp_path) == []


def test_stale_temporaries_are_removed_and_live_ones_kept(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now belongs to no process (a run killed with SIGKILL)
    stale = tmp_path / f".out.mp4.{host_tag()}-{dead.pid}-0a0a.tmp.mp4"
    live = tmp_path / f".out.mp4.{host_tag()}-{os.getpid()}-0b0b.tmp.mp4"  # this process
    elsewhere = tmp_path / ".out.mp4.ffffff-1-0c0c.tmp.mp4"  # another machine's
    for path in (stale, live, elsewhere):
        path.write_bytes(b"partial")
    proc = finish(
        start(("face.png", str(samples.v25), "-o", "out.mp4", *FAST), tmp_path, tiny_checkpoint)
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.mp4").exists()
    assert hidden(tmp_path) == sorted([live.name, elsewhere.name])


def test_a_full_disk_stops_the_run_at_once(
    tmp_path: Path, long_driving: Path, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_face(tmp_path / "face.png")
    before = snapshot(tmp_path)
    looks: list[Path] = []

    def full_disk(folder: Path) -> int:
        looks.append(folder)
        return 0

    monkeypatch.setattr(sinks, "free_bytes", full_disk)
    out = tmp_path / "out.mp4"
    args = [str(tmp_path / "face.png"), str(long_driving), "-o", str(out), *FAST]
    result = CliRunner().invoke(app, [*args, "--checkpoint", str(tiny_checkpoint)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: encoding {out} failed: no space left on the device of {tmp_path}"
    ]
    assert looks == [tmp_path]  # at frame 25 of 300, not after the whole video
    assert snapshot(tmp_path) == before
