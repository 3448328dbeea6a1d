"""The marks every output carries (credentials, label, watermark), through the real
``animate`` entry point, and ``animate verify`` reading them back (docs/provenance.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from testutil import Samples, ffmpeg
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.provenance.credentials import self_made_identity
from animatecli.provenance.label import read_label
from animatecli.provenance.watermark import Embedder

from .cli_testutil import ENTRY, NO_TORCH, SRC, assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
runner = CliRunner()
FAST = [
    "--crop-source", "off", "--crop-driving", "off", "--align", "first", "--preset", "ultrafast"
]  # fmt: skip


def animate(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``animate ARGS`` in a fresh interpreter, as a user runs it (bundled model)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("ANIMATE_CHECKPOINT", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def verify_json(*files: Path, cwd: Path) -> tuple[int, list[dict]]:
    proc = animate("verify", "--json", *files, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["files"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`make demo`'s command: the examples through the bundled model, with the defaults."""
    work = tmp_path_factory.mktemp("demo")
    shutil.copy(EXAMPLES / "source.png", work / "source.png")
    shutil.copy(EXAMPLES / "driving.mp4", work / "driving.mp4")
    proc = animate("source.png", "driving.mp4", "-o", "out.mp4", "--overwrite", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return work / "out.mp4", json.loads(proc.stdout)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_output_is_signed_labelled_and_watermarked(demo: tuple[Path, dict]) -> None:
    out, report = demo
    marks = report["provenance"]
    output_id = marks["watermark"]["output_id"]
    assert marks["watermark"]["embedded"] and len(output_id) == 4
    assert marks["credentials"]["signed"] is True
    assert "integrity, not identity" in marks["credentials"]["signer"]
    assert "AI-generated" in marks["label"]
    code, (found,) = verify_json(out, cwd=out.parent)
    assert code == 0 and found["verdict"] == "marked"
    creds = found["credentials"]
    assert creds["state"] == "valid" and creds["ai_generated"]
    assert creds["trusted_signer"] is False  # self-made key: integrity, not identity
    assert creds["software_agent"]["model"] == "fomm/animatecli-synthetic-128.pt"
    assert creds["parameters"]["watermark_output_id"] == output_id
    # The inputs by hash only: never a name or a path.
    assert {i["role"]: i["sha256"] for i in creds["ingredients"]} == {
        "source photo": _sha256(EXAMPLES / "source.png"),
        "driving video": _sha256(EXAMPLES / "driving.mp4"),
    }
    assert "source.png" not in json.dumps(creds) and "driving.mp4" not in json.dumps(creds)
    assert found["label"]["present"] and found["label"]["ai_generated"]
    watermark = found["watermark"]
    assert watermark["detected"] and watermark["windows_detected"] == watermark["windows"]
    # A read-back id is never wrong (at 128×128 it may be unreadable: docs/provenance.md).
    assert watermark["output_id"] in (None, output_id)
    assert not list(out.parent.glob(".*tmp*")), "temporary files left behind"


def test_reencoded_copy_still_shows_the_watermark(demo: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = demo
    copy = tmp_path / "reencoded.mp4"
    ffmpeg("-i", str(out), "-map_metadata", "-1", "-c:v", "libx264", "-crf", "28",
           "-pix_fmt", "yuv420p", str(copy))  # fmt: skip
    code, (found,) = verify_json(copy, cwd=tmp_path)
    assert code == 0 and found["verdict"] == "marked"
    assert found["credentials"]["state"] == "absent"
    assert not found["label"]["present"]
    assert found["watermark"]["detected"]
    human = animate("verify", copy, cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert "marked as AI-generated" in human.stdout
    assert "credentials: absent" in human.stdout and "watermark: detected" in human.stdout


def test_tampered_output_exits_6(demo: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = demo
    tampered = tmp_path / "tampered.mp4"
    data = bytearray(out.read_bytes())
    mdat = data.find(b"mdat")
    middle = mdat + (len(data) - mdat) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    tampered.write_bytes(bytes(data))
    code, (found,) = verify_json(tampered, cwd=tmp_path)
    assert code == 6 and found["verdict"] == "tampered"
    assert "assertion.bmffHash.mismatch" in found["credentials"]["codes"]
    # Several files: the worst code wins (tampered over marked).
    code, reports = verify_json(out, tampered, cwd=tmp_path)
    assert code == 6 and [r["verdict"] for r in reports] == ["marked", "tampered"]


@pytest.fixture(scope="module")
def face(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("face") / "face.png"
    rng = np.random.default_rng(5)
    image = cv2.GaussianBlur(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8), (5, 5), 2)
    cv2.imwrite(str(path), image)
    return path


def run_tiny(*args: str | Path, checkpoint: Path) -> dict:
    result = runner.invoke(app, [*map(str, args), "--json", *FAST, "--checkpoint", str(checkpoint)])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_marks_off_on_purpose_gives_a_file_verify_calls_not_marked(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plain.mp4"
    report = run_tiny(face, samples.v25, "-o", out, "--credentials", "off", "--watermark", "off",
                      checkpoint=tiny_checkpoint)  # fmt: skip
    assert report["provenance"]["watermark"] == {"embedded": False, "output_id": None}
    assert report["provenance"]["credentials"] == {"signed": False, "reason": "off"}
    assert report["provenance"]["label"] is None
    code, (found,) = verify_json(out, cwd=tmp_path)
    assert code == 5 and found["verdict"] == "not_marked"
    assert found["credentials"]["state"] == "absent" and not found["label"]["present"]


def test_every_frame_carries_the_watermark_and_png_frames_the_label(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    marked_dir, plain_dir = tmp_path / "marked", tmp_path / "plain"
    report = run_tiny(face, samples.v25, "-o", f"{marked_dir}/", checkpoint=tiny_checkpoint)
    run_tiny(face, samples.v25, "-o", f"{plain_dir}/", "--watermark", "off", "--credentials",
             "off", checkpoint=tiny_checkpoint)  # fmt: skip
    embedder = Embedder(int(report["provenance"]["watermark"]["output_id"], 16))
    marked, plain = sorted(marked_dir.glob("*.png")), sorted(plain_dir.glob("*.png"))
    assert len(marked) == len(plain) == report["frames"] == 25
    for got_path, plain_path in zip(marked, plain, strict=True):
        got = cv2.cvtColor(cv2.imread(str(got_path)), cv2.COLOR_BGR2RGB)
        unmarked = cv2.cvtColor(cv2.imread(str(plain_path)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(got, embedder.mark(unmarked))
    # PNG frames carry the label in their text chunks; unlabelled ones do not.
    label = read_label(marked[0])
    assert label.ai_generated and "animatecli" in (label.tool or "")
    assert not read_label(plain[0]).present
    assert report["provenance"]["credentials"]["reason"] == "only MP4 outputs carry them"


@pytest.mark.parametrize("suffix", [".webm", ".gif", ".mkv"])
def test_other_containers_carry_the_label(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"out{suffix}"
    run_tiny(face, samples.v25, "-o", out, checkpoint=tiny_checkpoint)
    label = read_label(out)
    assert label.ai_generated, label
    code, (found,) = verify_json(out, cwd=tmp_path)
    assert code == 0 and found["verdict"] == "marked"
    assert found["credentials"]["state"] in ("absent", "unreadable")
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def test_signing_failure_is_one_line_and_leaves_no_output(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # A certificate and a key that do not belong together: found out only when signing,
    # after every frame was computed.
    keys = tmp_path.parent / f"{tmp_path.name}-keys"
    chain = self_made_identity(keys / "one").chain_pem
    other_key = self_made_identity(keys / "two").key_pem
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(other_key)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, [
        str(face), str(samples.v25), "-o", str(out), *FAST, "--checkpoint", str(tiny_checkpoint),
        "--sign-cert", str(tmp_path / "chain.pem"), "--sign-key", str(tmp_path / "key.pem"),
    ])  # fmt: skip
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot sign"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.pem", "key.pem"]


def test_sign_options_checked_before_any_work(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    for extra, match in (
        (["--sign-cert", str(face)], "go together"),
        (["--sign-cert", str(tmp_path / "no.pem"), "--sign-key", str(face)], "no such file"),
        (["--credentials", "maybe"], "maybe"),
    ):
        result = runner.invoke(app, [
            str(face), str(samples.v25), "-o", str(out), *FAST, *extra,
            "--checkpoint", str(tiny_checkpoint),
        ])  # fmt: skip
        assert result.exit_code == 2, result.stderr
        assert match in result.stderr
        assert not out.exists()


def test_batch_outputs_are_marked(
    samples: Samples, face: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(face, folder / "face.png")
    shutil.copy(samples.v25, folder / "talk.mp4")
    result = runner.invoke(app, [
        "batch", str(folder), "-o", str(tmp_path / "out"), "--json", *FAST,
        "--checkpoint", str(tiny_checkpoint),
    ])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    outputs = sorted((tmp_path / "out").glob("*.mp4"))
    assert len(outputs) == 1
    code, (found,) = verify_json(*outputs, cwd=tmp_path)
    assert code == 0
    assert found["credentials"]["state"] == "valid" and found["label"]["present"]


def test_verify_usage_errors_and_torch_free_help(tmp_path: Path) -> None:
    missing = animate("verify", tmp_path / "nothing.mp4", cwd=tmp_path)
    assert_one_line_error(missing, 2, "nothing.mp4: no such file")
    folder = animate("verify", tmp_path, cwd=tmp_path)
    assert_one_line_error(folder, 2, "is a folder")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    helped = subprocess.run(
        [sys.executable, "-c", NO_TORCH, "verify", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0, helped.stderr
    assert "0 marked" in helped.stdout and "6 tampered" in helped.stdout
    # Reading a file needs no torch either.
    (tmp_path / "notes.mp4").write_text("not a video\n")
    read = subprocess.run(
        [sys.executable, "-c", NO_TORCH, "verify", str(tmp_path / "notes.mp4")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in read.stderr, read.stderr
    assert read.returncode in (1, 5), read.stdout + read.stderr
