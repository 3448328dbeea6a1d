"""Issue 28, round 2, through the real ``animate`` command: a damaged driving video's
notice (item 17), ``--`` before a file named like an option (item 19), and the words of
the output (item 20)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from testutil import Samples, damaged_clip, ffmpeg

from .cli_testutil import finish, start, write_face

FAST = (
    "--crop-source",
    "off",
    "--crop-driving",
    "off",
    "--align",
    "first",
    "--preset",
    "ultrafast",
)


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A 4 s clip with 3000 random bytes in its middle: ffmpeg conceals the damage."""
    return damaged_clip(tmp_path)


def test_a_damaged_driving_video_gives_a_notice_with_the_error_count(
    tmp_path: Path, damaged: Path, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    proc = finish(
        start(("face.png", "damaged.mp4", "-o", "out.mp4", *FAST), tmp_path, tiny_checkpoint)
    )
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if "damaged.mp4 is damaged" in line]
    assert len(notes) == 1, proc.stderr
    assert notes[0].startswith("note: damaged.mp4 is damaged: ffmpeg reported ")
    assert "decode errors; some frames may show artefacts" in notes[0]

    args = ("face.png", "damaged.mp4", "-o", "out2.mp4", "--json", *FAST)
    result = json.loads(finish(start(args, tmp_path, tiny_checkpoint)).stdout)
    assert result["decode_errors"] >= 10
    assert any(f"reported {result['decode_errors']} decode errors" in n for n in result["notices"])


def test_a_clean_driving_video_has_no_decode_notice(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    write_face(tmp_path / "face.png")
    shutil.copy(samples.v25, tmp_path / "talk.mp4")
    args = ("face.png", "talk.mp4", "-o", "out.mp4", "--json", *FAST)
    proc = finish(start(args, tmp_path, tiny_checkpoint))
    result = json.loads(proc.stdout)
    assert result["decode_errors"] == 0 and result["notices"] == []
    assert "note:" not in proc.stderr


def test_double_dash_keeps_a_source_named_like_an_option(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    """Item 19: ``animate -- -dash.png d.mp4`` animates the file ``-dash.png``."""
    write_face(tmp_path / "-dash.png")
    shutil.copy(samples.v25, tmp_path / "d.mp4")
    proc = finish(start(("--", "-dash.png", "d.mp4"), tmp_path, tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "-dash__d.mp4").is_file()
    # Options may still follow the two files.
    args = ("--", "-dash.png", "d.mp4", "-o", "-out.mp4", "-q", *FAST)
    proc = finish(start(args, tmp_path, tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "-out.mp4").is_file()


def _run_on_a_terminal(args: tuple[str, ...], cwd: Path, checkpoint: Path, code: int = 1) -> str:
    """``animate ARGS`` with stdout and stderr on a pseudo-terminal (so the progress bars
    show); everything it wrote."""
    import os
    import pty
    import subprocess
    import sys

    from .cli_testutil import ENTRY, SRC

    master, slave = pty.openpty()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ANIMATE_CHECKPOINT": str(checkpoint)}
    env.update(PYTHONPATH=str(SRC), COLUMNS="120", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=300) == code, out
    return out.decode("utf-8", errors="replace")


def test_the_error_is_the_last_thing_on_the_terminal(
    tmp_path: Path, samples: Samples, tiny_checkpoint: Path
) -> None:
    """Item 20: a job failing mid-video stops its progress bar before the error line; the
    bar is never redrawn below it."""
    write_face(tmp_path / "face.png")
    ffmpeg("-i", str(samples.v25), "-c:v", "mpeg4", str(tmp_path / "whole.mkv"))
    data = (tmp_path / "whole.mkv").read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 6 // 10])
    out = _run_on_a_terminal(
        ("face.png", "cut.mkv", "-o", "out.mp4", *FAST), tmp_path, tiny_checkpoint
    )
    assert "frames" in out.split("error:")[0]  # a bar was shown before the error
    assert out.count("error:") == 1
    tail = out.split("error:")[1]
    assert "cut.mkv is truncated or damaged" in tail
    assert tail.rstrip().endswith("(File ended prematurely)"), repr(tail)
    assert not (tmp_path / "out.mp4").exists()


def test_batch_counts_pairs_per_second_and_one_frame_is_singular(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    """Item 20: the batch's pairs bar says pairs/s, not fps; a one-frame result says
    "1 frame"."""
    root = tmp_path / "in"
    root.mkdir()
    write_face(root / "face.png")
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=96x96:rate=25", "-frames:v", "1",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "one.mp4"),
    )  # fmt: skip
    out = _run_on_a_terminal(("batch", "in", *FAST), tmp_path, tiny_checkpoint, code=0)
    pair_lines = [line for line in out.replace("\r", "\n").splitlines() if "pairs" in line]
    assert any("pairs/s" in line for line in pair_lines), out
    assert not any(" fps" in line for line in pair_lines if "pairs (" in line), out
    assert "batch: 1 of 1 pair in this shard" in out

    args = ("in/face.png", "in/one.mp4", "-o", "out.mp4", *FAST)
    proc = finish(start(args, tmp_path, tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert "wrote out.mp4 (1 frame at 25.000 fps" in proc.stderr, proc.stderr


def test_eval_memory_does_not_grow_with_the_frames(tiny_checkpoint: Path) -> None:
    """Item 18: the held-out videos are scored as they are drawn, a batch at a time (Python
    allocations traced: frames, poses and scores alike); ``eval --frames 1000000`` itself
    is refused by the suite of bad inputs."""
    import tracemalloc

    from animatecli.models import load_model
    from animatecli.options import ModelOptions
    from animatecli.training.evaluate import evaluate_reconstruction

    loaded, _, _ = load_model(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))
    peaks = {}
    for frames in (40, 400):
        tracemalloc.start()
        scores = evaluate_reconstruction(loaded.model, videos=1, frames=frames)
        peaks[frames] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert scores.frames == frames
    assert peaks[400] < 1.5 * peaks[40], peaks
