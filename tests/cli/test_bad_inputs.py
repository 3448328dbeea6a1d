"""Bad and awkward inputs through the real ``animate`` command, as a user would type them.

Every case asserts the five things issue 28 asks of each: the documented exit code,
exactly one line on stderr (``error: ...``), no traceback, nothing left behind where an
output would go (the snapshot covers the working folder and the folder above it, where an
escaping output would land: no new file, hidden ones included), and every input unchanged
(byte-identical: content hashes compared before and after). Cases marked ``EARLY`` run
with torch made unimportable: they must be refused before the model stack loads (and start
fast); the others are refused by the model stage (checkpoint, device, media content)
with the tiny test model.
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
    setup: Callable[[Path, Path], None] | None = None  # (work folder, tiny checkpoint)
    env: tuple[tuple[str, str], ...] = ()  # environment variables set for the command
    skip_as_root: bool = False  # a permission root bypasses


def _fifo(work: Path, checkpoint: Path) -> None:
    os.mkfifo(work / "pipe.mp4")


def _write(name: str, text: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, checkpoint: Path) -> None:
        (work / name).write_text(text.replace("{work}", str(work)))

    return setup


def _read_only_folder(work: Path, checkpoint: Path) -> None:
    (work / "ro").mkdir()
    (work / "ro").chmod(0o555)


def _bomb(work: Path, checkpoint: Path) -> None:
    from .test_hardening_media import deep_png

    deep_png(work / "bomb.png", 12000, 12000)


def _bad_checkpoint(change: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, checkpoint: Path) -> None:
        import torch

        container = torch.load(checkpoint, weights_only=True)
        if change == "nan":
            state = container["generator"]
            key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
            state[key] = state[key].clone()
            state[key].view(-1)[1] = float("nan")
        else:
            container["config"]["model_params"] = "vox"
        torch.save(container, work / "bad.pt")

    return setup


def _no_face_alignment_weights(work: Path, checkpoint: Path) -> None:
    (work / "empty-cache").mkdir()


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
    # -- issue 28, round 2 ----------------------------------------------------------------
    # Item 1: --report never replaces an input, nor an output of the batch.
    "batch report is the source photo": Case(
        ("batch", "in", "--report", "in/face.png"), USAGE, r"--report in/face\.png is the source"
    ),
    "batch report is the driving video": Case(
        ("batch", "in", "--report", "in/talk.mp4"), USAGE, "is the driving video"
    ),
    "batch report is the driving by another path": Case(
        ("batch", "in", "--report", "imgs/../in/talk.mp4"), USAGE, "is the driving video"
    ),
    "batch report is the pairs file": Case(
        ("batch", "in", "--pairs", "pairs.csv", "--report", "pairs.csv"),
        USAGE,
        "is the pairs file",
        setup=_write("pairs.csv", "face.png,talk.mp4\n"),
    ),
    "batch report is an output": Case(
        ("batch", "in", "-o", "imgs", "--report", "imgs/face__talk.mp4"),
        USAGE,
        "is the output of a pair",
    ),
    # Item 2: a pairs file's outputs stay in -o and never name an input, -y or not.
    "batch pairs output escapes": Case(
        ("batch", "in", "--pairs", "esc.csv", "-o", "out"),
        USAGE,
        r"pair 1's output \.\./\.\./escaped\.mp4 is outside the output folder",
        setup=_write("esc.csv", "face.png,talk.mp4,../../escaped.mp4\n"),
    ),
    "batch pairs output absolute": Case(
        ("batch", "in", "--pairs", "abs.csv", "-o", "out"),
        USAGE,
        "is outside the output folder",
        setup=_write("abs.csv", "face.png,talk.mp4,{work}/abs.mp4\n"),
    ),
    "batch pairs output is another pair's driving": Case(
        ("batch", "in", "--pairs", "clobber.csv", "-o", ".", "-y"),
        USAGE,
        r"pair 1 would write exists\.mp4, which is the driving video",
        setup=_write("clobber.csv", "face.png,talk.mp4,exists.mp4\nface.png,exists.mp4,y.mp4\n"),
    ),
    "batch pairs output is the source": Case(
        ("batch", "in", "--pairs", "src.csv", "-o", ".", "--overwrite"),
        USAGE,
        "which is the source",
        setup=_write("src.csv", "face.png,talk.mp4,face.png\n"),
    ),
    "batch pairs output is the pairs file": Case(
        ("batch", "in", "--pairs", "self.csv", "-o", ".", "-y"),
        USAGE,
        "which is the pairs file",
        setup=_write("self.csv", "face.png,talk.mp4,self.csv\n"),
    ),
    # Item 15: the duplicate check compares resolved paths.
    "batch pairs same output by another path": Case(
        ("batch", "in", "--pairs", "dup2.csv"),
        USAGE,
        "pairs 1 and 2 both write same.mp4",
        setup=_write(
            "dup2.csv", "face.png,talk.mp4,same.mp4\nface.png,exists.mp4,sub/../same.mp4\n"
        ),
    ),
    # Item 9: an output folder that is a file, under a file, read-only, or stdout.
    "batch output is a file": Case(
        ("batch", "in", "-o", "afile"), USAGE, "is a file, not a folder"
    ),
    "batch output under a file": Case(
        ("batch", "in", "-o", "afile/sub"), USAGE, "afile is a file, not a folder"
    ),
    "batch output read-only": Case(
        ("batch", "in", "-o", "ro/out"),
        USAGE,
        "is not writable",
        setup=_read_only_folder,
        skip_as_root=True,
    ),
    "batch output is stdout": Case(("batch", "in", "-o", "-"), USAGE, "standard output"),
    # Item 11: numbers isdigit() takes and int() cannot read.
    "faces superscript": Case(("face.png", "talk.mp4", "--faces", "²"), USAGE, "--faces '²'"),
    "align superscript": Case(("face.png", "talk.mp4", "--align", "²"), USAGE, "--align '²'"),
    "faces many digits": Case(
        ("face.png", "talk.mp4", "--faces", "9" * 40), USAGE, "--faces 9+: must be between 1"
    ),
    "batch faces superscript": Case(("batch", "in", "--faces", "³"), USAGE, "--faces '³'"),
    "device with a non-ASCII digit": Case(
        ("face.png", "talk.mp4", "--device", "cuda:٣"), USAGE, "--device 'cuda:٣'"
    ),
    # Item 18: nan and inf where a number is wanted.
    "crop min-score nan": Case(("crop", "talk.mp4", "--min-score", "nan"), USAGE, "--min-score"),
    "crop min-score inf": Case(("crop", "talk.mp4", "--min-score", "inf"), USAGE, "--min-score"),
    "crop min-seconds nan": Case(
        ("crop", "talk.mp4", "--min-seconds", "nan"), USAGE, "--min-seconds"
    ),
    "crop increase inf": Case(("crop", "talk.mp4", "--increase", "inf"), USAGE, "--increase"),
    "smooth nan": Case(("face.png", "talk.mp4", "--smooth", "nan"), USAGE, "--smooth nan"),
    "serve max upload nan": Case(
        ("serve", "--max-upload-mb", "nan"), USAGE, "--max-upload-mb", early=False
    ),
    "eval a million frames": Case(("eval", "--frames", "1000000"), USAGE, "--frames"),
    # Item 19: messages that say what is wrong.
    "align out of range": Case(
        ("face.png", "talk.mp4", "--align", "99999999999999999999999"),
        USAGE,
        "--align 99999999999999999999999: frame index out of range",
    ),
    "output is stdout": Case(
        ("face.png", "talk.mp4", "-o", "-"), USAGE, "writing to standard output is not supported"
    ),
    "crop output is stdout": Case(("crop", "talk.mp4", "-o", "-"), USAGE, "standard output"),
    "checkpoint env blank": Case(
        ("face.png", "talk.mp4"),
        USAGE,
        r"\$ANIMATE_CHECKPOINT is blank",
        early=False,
        env=(("ANIMATE_CHECKPOINT", " "),),
    ),
    "detector face-alignment without weights": Case(
        ("face.png", "talk.mp4", "--detector", "face-alignment"),
        USAGE,
        "face-alignment",
        early=False,
        setup=_no_face_alignment_weights,
        env=(("TORCH_HOME", "empty-cache"),),
    ),
    # Item 14: a weights base URL that is no URL; serve's bad host.
    "weights base url garbage": Case(
        ("models", "fetch", "face-alignment"),
        USAGE,
        "ANIMATE_WEIGHTS_BASE_URL",
        early=False,
        env=(("ANIMATE_WEIGHTS_BASE_URL", "garbage"),),
    ),
    "serve bad host": Case(("serve", "--host", "bad..name"), USAGE, "--host", early=False),
    # Items 6, 8, 12, 17: the first helper's cases, with the suite's five checks.
    "image bomb": Case(
        ("bomb.png", "talk.mp4"), USAGE, "too large to load safely", early=False, setup=_bomb
    ),
    "driving named like a protocol, missing": Case(
        ("face.png", "concat:talk.mp4|exists.mp4"), USAGE, "does not exist"
    ),
    "source named like a protocol, missing": Case(
        ("file:face.png", "talk.mp4"), USAGE, "does not exist"
    ),
    "checkpoint config a string": Case(
        ("face.png", "talk.mp4", "--checkpoint", "bad.pt"),
        USAGE,
        "model_params is a str, not a mapping",
        early=False,
        setup=_bad_checkpoint("config"),
    ),
    "checkpoint NaN weights": Case(
        ("face.png", "talk.mp4", "--checkpoint", "bad.pt"),
        USAGE,
        "holds NaN",
        early=False,
        setup=_bad_checkpoint("nan"),
    ),
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
    if case.skip_as_root and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    if case.setup is not None:
        case.setup(work, tiny_checkpoint)
    # The folder above too: an output escaping the working folder would land there.
    before = snapshot(work.parent)
    proc = finish(start(case.args, work, tiny_checkpoint, torch=not case.early, env=case.env))
    assert_one_line_error(proc, case.code, case.match)
    assert snapshot(work.parent) == before
    assert not (work / "pwned").exists()
