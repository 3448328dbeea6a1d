"""Bad and awkward inputs through the real ``animate`` command, as a user would type them.

Every case asserts the documented exit code, exactly one line on stderr (``error: ...``),
no traceback, and a working folder left exactly as it was: no new file (hidden ones
included) and every input unchanged. Cases marked ``EARLY`` run with torch made
unimportable: they must be refused before the model stack loads (and start fast); the
others are refused by the model stage (checkpoint, device, media content) with the tiny
test model.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from testutil import Samples

from .cli_testutil import assert_one_line_error, finish, snapshot, start, write_face

USAGE, FAILURE = 2, 1


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    match: str  # regex the one stderr line must contain
    early: bool = True  # refused before torch is imported
    setup: Callable[[Path], None] | None = None


def _fifo(work: Path) -> None:
    os.mkfifo(work / "pipe.mp4")


class _RunsCommand:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


CJK_TOO_LONG = "猫" * 90 + ".mp4"  # 274 bytes: over the 255-byte limit of a file name

CASES: dict[str, Case] = {
    # -- run: inputs ----------------------------------------------------------------------
    "missing source": Case(("nope.png", "talk.mp4"), USAGE, r"image nope\.png does not exist"),
    "missing driving": Case(("face.png", "nope.mp4"), USAGE, r"video nope\.mp4 does not exist"),
    "source is a folder": Case(("in", "talk.mp4"), USAGE, "is a folder, not a file"),
    "driving is a folder": Case(("face.png", "in"), USAGE, "is a folder, not a file"),
    "driving is a fifo": Case(("face.png", "pipe.mp4"), USAGE, "not a regular file", setup=_fifo),
    "driving is stdin": Case(("face.png", "-"), USAGE, "standard input is not supported"),
    "source is text": Case(("notes.png", "talk.mp4"), USAGE, "not a readable image", early=False),
    "source is empty": Case(("empty.png", "talk.mp4"), USAGE, "empty.png", early=False),
    "driving is text": Case(("face.png", "notes.mp4"), USAGE, "not a readable video", early=False),
    "driving has only audio": Case(
        ("face.png", "audio.m4a"), USAGE, "has no video stream", early=False
    ),
    "driving has no frames": Case(
        ("face.png", "zero.y4m"), USAGE, "contains no video frames", early=False
    ),
    # talk.mp4 is a 16:9 clip without a face: the driving auto-crop would add its notice.
    "align past the end": Case(
        ("face.png", "talk.mp4", "--align", "999", "--crop-driving", "off"),
        USAGE,
        "has only 25 frames",
        early=False,
    ),
    # -- run: outputs ---------------------------------------------------------------------
    "output without extension": Case(
        ("face.png", "talk.mp4", "-o", "result"), USAGE, r"has no extension; use e\.g\."
    ),
    "output only an extension": Case(
        ("face.png", "talk.mp4", "-o", ".mp4"), USAGE, "is only an extension"
    ),
    "output empty": Case(("face.png", "talk.mp4", "-o", ""), USAGE, "output path is empty"),
    "output unsupported": Case(
        ("face.png", "talk.mp4", "-o", "out.avi"), USAGE, "unsupported extension '.avi'"
    ),
    "output is an image": Case(
        ("face.png", "talk.mp4", "-o", "out.png"), USAGE, "unsupported extension '.png'"
    ),
    "output exists": Case(
        ("face.png", "talk.mp4", "-o", "exists.mp4"), USAGE, "exists; pass --overwrite"
    ),
    "output is the driving": Case(
        ("face.png", "talk.mp4", "-o", "talk.mp4", "-y"), USAGE, "is an input file"
    ),
    "output is the driving by another path": Case(
        ("face.png", "talk.mp4", "-o", "in/../talk.mp4", "--overwrite"), USAGE, "input file"
    ),
    "output in a missing folder": Case(
        ("face.png", "talk.mp4", "-o", "nowhere/out.mp4"), USAGE, "does not exist"
    ),
    "output under a file": Case(
        ("face.png", "talk.mp4", "-o", "afile/out.mp4"), USAGE, "is not a folder"
    ),
    "output is a folder": Case(("face.png", "talk.mp4", "-o", "in.mp4"), USAGE, "is a folder"),
    "output name too long": Case(
        ("face.png", "talk.mp4", "-o", CJK_TOO_LONG), USAGE, r"too long \(274 bytes"
    ),
    "output folder not empty": Case(
        ("face.png", "talk.mp4", "-o", "in/"), USAGE, "is not empty; pass --overwrite"
    ),
    "options before positionals": Case(
        ("-o", "out.avi", "face.png", "talk.mp4"), USAGE, "unsupported extension"
    ),
    # -- run: option values ---------------------------------------------------------------
    "preset banana": Case(("face.png", "talk.mp4", "--preset", "banana"), USAGE, "--preset"),
    "preset banana first": Case(("--preset", "banana", "face.png", "talk.mp4"), USAGE, "banana"),
    "crf too high": Case(("face.png", "talk.mp4", "--crf", "99"), USAGE, "--crf"),
    "crf negative": Case(("face.png", "talk.mp4", "--crf", "-1"), USAGE, "--crf"),
    "crf not a number": Case(("face.png", "talk.mp4", "--crf", "high"), USAGE, "--crf"),
    "batch size zero": Case(("face.png", "talk.mp4", "--batch-size", "0"), USAGE, "--batch-size"),
    "threads zero": Case(("face.png", "talk.mp4", "--threads", "0"), USAGE, "--threads"),
    "batch size huge": Case(
        ("face.png", "talk.mp4", "--batch-size", "100000"), USAGE, "--batch-size"
    ),
    "mode unknown": Case(("face.png", "talk.mp4", "--mode", "sideways"), USAGE, "--mode"),
    "fit unknown": Case(("face.png", "talk.mp4", "--fit", "zoom"), USAGE, "--fit"),
    "align unknown": Case(("face.png", "talk.mp4", "--align", "middle"), USAGE, "--align 'middle'"),
    "crop-source unknown": Case(
        ("face.png", "talk.mp4", "--crop-source", "maybe"), USAGE, "--crop-source"
    ),
    "detector unknown": Case(("face.png", "talk.mp4", "--detector", "yolo"), USAGE, "--detector"),
    "device unknown": Case(("face.png", "talk.mp4", "--device", "tpu"), USAGE, "--device 'tpu'"),
    "encoder unknown": Case(("face.png", "talk.mp4", "--encoder", "hevc"), USAGE, "--encoder"),
    "encoder nvenc to webm": Case(
        ("face.png", "talk.mp4", "-o", "out.webm", "--encoder", "nvenc"), USAGE, r"not an \.mp4"
    ),
    "paste-back with compare": Case(
        ("face.png", "talk.mp4", "--paste-back", "--compare"), USAGE, "--paste-back"
    ),
    "unknown option": Case(("face.png", "talk.mp4", "--colour"), USAGE, "No such option"),
    "missing driving argument": Case(("run", "face.png"), USAGE, "Missing argument"),
    "extra argument": Case(("face.png", "talk.mp4", "more.mp4"), USAGE, "unexpected extra"),
    "option value missing": Case(("face.png", "talk.mp4", "-o"), USAGE, "requires an argument"),
    "fp16 on cpu": Case(
        ("face.png", "talk.mp4", "--device", "cpu", "--fp16"), USAGE, "--fp16 needs a CUDA", False
    ),
    "cuda graphs on cpu": Case(
        ("face.png", "talk.mp4", "--device", "cpu", "--cuda-graphs"),
        USAGE,
        "--cuda-graphs needs a CUDA",
        False,
    ),
    "device absent": Case(("face.png", "talk.mp4", "--device", "cuda:7"), USAGE, "cuda:7", False),
    # -- run: checkpoints -----------------------------------------------------------------
    "checkpoint missing": Case(
        ("face.png", "talk.mp4", "--checkpoint", "none.pth"), USAGE, "not found", early=False
    ),
    "checkpoint is a folder": Case(
        ("face.png", "talk.mp4", "--checkpoint", "in"), USAGE, "directory", early=False
    ),
    "checkpoint random bytes": Case(
        ("face.png", "talk.mp4", "--checkpoint", "rand.pth.tar"),
        USAGE,
        "not a PyTorch checkpoint",
        early=False,
    ),
    "checkpoint html page": Case(
        ("face.png", "talk.mp4", "--checkpoint", "vox-cpk.pth.tar"),
        USAGE,
        "an HTML page, probably a failed download",
        early=False,
    ),
    "checkpoint runs code": Case(
        ("face.png", "talk.mp4", "--checkpoint", "evil.pth"),
        USAGE,
        r"imports (posix|os)\.system, which could run code: refused",
        early=False,
    ),
    "config unknown": Case(
        ("face.png", "talk.mp4", "--config", "vox-1024"), USAGE, "unknown config", early=False
    ),
    # -- batch ----------------------------------------------------------------------------
    "batch missing folder": Case(("batch", "nowhere"), USAGE, "not a folder: nowhere"),
    "batch no videos": Case(("batch", "imgs"), USAGE, "needs at least one image and one video"),
    "batch output is input": Case(("batch", "in", "-o", "in"), USAGE, "is the input folder"),
    "batch output is input by another path": Case(
        ("batch", "in", "-o", "imgs/../in/"), USAGE, "is the input folder"
    ),
    "batch report in missing folder": Case(
        ("batch", "in", "--report", "nowhere/r.json"), USAGE, "does not exist"
    ),
    "batch report is a folder": Case(("batch", "in", "--report", "imgs"), USAGE, "is a folder"),
    "batch pairs missing": Case(
        ("batch", "in", "--pairs", "nope.csv"), USAGE, "cannot read pairs file"
    ),
    "batch pairs is a folder": Case(("batch", "in", "--pairs", "imgs"), USAGE, "is a folder"),
    "batch pairs bad json": Case(
        ("batch", "in", "--pairs", "bad.json"), USAGE, "is not valid JSON"
    ),
    "batch pairs json object": Case(
        ("batch", "in", "--pairs", "object.json"), USAGE, "expected a JSON list"
    ),
    "batch pairs short row": Case(
        ("batch", "in", "--pairs", "short.csv"), USAGE, "needs a source and a driving"
    ),
    "batch pairs empty": Case(("batch", "in", "--pairs", "empty.csv"), USAGE, "lists no pairs"),
    "batch pairs same output": Case(
        ("batch", "in", "--pairs", "dup.csv"), USAGE, "pairs 1 and 2 both write x.mp4"
    ),
    "batch shard out of range": Case(("batch", "in", "--shard", "5/2"), USAGE, "--shard 5/2"),
    "batch shard not a fraction": Case(("batch", "in", "--shard", "half"), USAGE, "I/N"),
    "batch preset banana": Case(("batch", "in", "--preset", "banana"), USAGE, "--preset"),
    "batch crf too high": Case(("batch", "in", "--crf", "52"), USAGE, "--crf"),
    "batch encoder unknown": Case(("batch", "in", "--encoder", "vp9"), USAGE, "--encoder"),
    # -- crop, doctor, eval ---------------------------------------------------------------
    "crop size huge": Case(("crop", "talk.mp4", "--size", "20000"), USAGE, "--size"),
    "crop size odd": Case(("crop", "talk.mp4", "--size", "15"), USAGE, "--size"),
    "crop missing video": Case(("crop", "nope.mp4"), USAGE, "does not exist", early=False),
    "crop preset banana": Case(("crop", "talk.mp4", "--preset", "banana"), USAGE, "--preset"),
    "crop detector unknown": Case(("crop", "talk.mp4", "--detector", "yolo"), USAGE, "--detector"),
    "doctor unknown option": Case(("doctor", "--fix"), USAGE, "No such option"),
    "eval zero videos": Case(("eval", "--videos", "0"), USAGE, "--videos"),
}


@pytest.fixture
def work(tmp_path: Path, samples: Samples) -> Path:
    """A working folder with good and bad inputs of every kind."""
    root = tmp_path / "work"
    root.mkdir()
    write_face(root / "face.png")
    shutil.copy(samples.v25, root / "talk.mp4")
    shutil.copy(samples.v25, root / "exists.mp4")
    shutil.copy(samples.text_as_mp4, root / "notes.mp4")
    shutil.copy(samples.audio_only, root / "audio.m4a")
    shutil.copy(samples.zero_frames, root / "zero.y4m")
    (root / "notes.png").write_text("not a picture\n")
    (root / "empty.png").write_bytes(b"")
    (root / "afile").write_text("a file, not a folder\n")
    for folder in ("in", "imgs"):
        (root / folder).mkdir()
        write_face(root / folder / "face.png")
    shutil.copy(samples.v25, root / "in" / "talk.mp4")
    (root / "in.mp4").mkdir()
    (root / "rand.pth.tar").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "vox-cpk.pth.tar").write_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n")
    (root / "evil.pth").write_bytes(pickle.dumps({"generator": _RunsCommand()}))
    (root / "bad.json").write_text("[{not json")
    (root / "object.json").write_text('{"source": "face.png"}')
    (root / "short.csv").write_text("face.png\n")
    (root / "empty.csv").write_text("source,driving\n")
    (root / "dup.csv").write_text("face.png,talk.mp4,x.mp4\nface.png,talk.mp4,x.mp4\n")
    return root


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line_and_leaves_everything_as_it_was(
    name: str, work: Path, tiny_checkpoint: Path
) -> None:
    case = CASES[name]
    if case.setup is not None:
        case.setup(work)
    before = snapshot(work)
    proc = finish(start(case.args, work, tiny_checkpoint, torch=not case.early))
    assert_one_line_error(proc, case.code, case.match)
    assert snapshot(work) == before
    assert not (work / "pwned").exists()
