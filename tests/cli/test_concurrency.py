"""Runs that share an output: nothing half-written is ever visible, nothing is lost, and
the loser of a race says so in one line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from testutil import Samples

from animatecli.batch import Pair, run_batch
from animatecli.media import probe_streams
from animatecli.options import AnimateOptions
from animatecli.paths import check_output_path

from .cli_testutil import assert_one_line_error, finish, start, write_face

FAST = ("--crop-source", "off", "--align", "first", "--preset", "ultrafast", "--quiet")


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.mark.parametrize("overwrite", [False, True], ids=["no-overwrite", "overwrite"])
def test_two_runs_writing_the_same_output(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path, overwrite: bool
) -> None:
    write_face(tmp_path / "face.png")
    args = ("face.png", str(samples.v25), "-o", "out.mp4", *FAST, *(["-y"] if overwrite else []))
    first = start(args, tmp_path, tiny_checkpoint)
    second = start(args, tmp_path, tiny_checkpoint)
    results = [finish(first), finish(second)]
    codes = sorted(r.returncode for r in results)
    if overwrite:
        # Both finish; the later rename wins atomically, and the file is a whole video.
        assert codes == [0, 0], [r.stderr for r in results]
    else:
        # The first to finish wins; the other reports it in one line and writes nothing.
        assert codes == [0, 2], [r.stderr for r in results]
        loser = next(r for r in results if r.returncode)
        assert_one_line_error(loser, 2, r"output out\.mp4 exists")
    assert probe_streams(tmp_path / "out.mp4")[0].frames == 25
    assert hidden(tmp_path) == []


def test_two_batches_sharing_an_output_folder_lose_nothing(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        write_face(folder / name)
    for name in ("talk.mp4", "nod.mp4"):
        (folder / name).write_bytes(samples.v25.read_bytes())
    args = ("batch", "in", "-o", "out", *FAST[:-1], "--json")
    first = start(args, tmp_path, tiny_checkpoint)
    # The second starts once the first is at work on a pair (its temporary is visible).
    out = tmp_path / "out"
    deadline = time.monotonic() + 120
    while not (out.is_dir() and hidden(out)) and first.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = start(args, tmp_path, tiny_checkpoint)
    runs = [finish(first), finish(second)]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    reports = [json.loads(r.stdout) for r in runs]
    assert all(report["summary"]["failed"] == 0 for report in reports)
    done = {p["output"] for report in reports for p in report["pairs"] if p["status"] == "ok"}
    expected = {f"out/{s}__{d}.mp4" for s in "abc" for d in ("nod", "talk")}
    assert done == expected  # every pair animated by one run or the other
    for output in expected:
        assert probe_streams(tmp_path / output)[0].frames == 25
    assert hidden(tmp_path) == []


def test_a_pair_finished_by_another_run_after_the_check_is_skipped(tmp_path: Path) -> None:
    """The window between a batch's look at a pair's output and the job's own check: an
    output that appears there is another run's work, not a failure."""
    output = tmp_path / "a__d.mp4"

    def finished_meanwhile(pair: Pair, options: AnimateOptions) -> int:
        output.write_bytes(b"made by the other run")
        check_output_path(pair.output, overwrite=False)
        return 25

    pair = Pair(tmp_path / "a.png", tmp_path / "d.mp4", output)
    [result] = run_batch([pair], AnimateOptions(), finished_meanwhile)
    assert result.status == "skipped"
