"""``animate SOURCE DRIVING`` through the real CLI, on real files, through real ffmpeg."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from testutil import SAMPLE_FPS, Samples, ffmpeg
from typer.testing import CliRunner

from animatecli import __version__
from animatecli.cli import app
from animatecli.engine import (
    Animator,
    OneEuroSettings,
    frames_to_tensor,
    load_checkpoint,
    tensor_to_frames,
)
from animatecli.media import (
    VideoReader,
    fit_image,
    probe_streams,
    probe_video,
    set_codec_threads,
)
from animatecli.media._ffmpeg import codec_thread_args

runner = CliRunner()
FAST = [
    "--crop-source", "off", "--crop-driving", "off", "--align", "first", "--preset", "ultrafast"
]  # fmt: skip


@pytest.fixture(scope="module")
def source_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "face.png"
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8), (7, 7), 2)
    cv2.circle(image, (60, 45), 25, (240, 200, 170), -1)
    cv2.imwrite(str(path), image)
    return path


def animate(*args: str | Path, checkpoint: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args), "--checkpoint", str(checkpoint)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["v25", "v30_audio", "ntsc_audio"])
def test_frames_fps_and_audio_follow_the_driving_video(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path, name: str
) -> None:
    driving: Path = getattr(samples, name)
    out = tmp_path / "out.mp4"
    code, stdout, stderr = animate(
        source_png, driving, "-o", out, "--json", *FAST, checkpoint=tiny_checkpoint
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    info_in, info_out = probe_video(driving), probe_video(out)
    assert info_out.fps == info_in.fps == SAMPLE_FPS[name]
    streams_in = {s.kind: s for s in probe_streams(driving)}
    streams_out = {s.kind: s for s in probe_streams(out)}
    assert streams_out["video"].frames == streams_in["video"].frames == report["frames"]
    assert report["fps_fraction"] == f"{info_in.fps.numerator}/{info_in.fps.denominator}"
    assert ("audio" in streams_out) == ("audio" in streams_in) == report["audio_kept"]
    if "audio" in streams_out:
        video_seconds = report["frames"] / info_in.fps
        assert abs(streams_out["audio"].duration - float(video_seconds)) <= 1 / info_in.fps
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def test_png_directory_equals_engine_output(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    outdir = tmp_path / "frames"
    code, _, stderr = animate(
        source_png,
        samples.v25,
        "-o",
        f"{outdir}/",
        *FAST,
        "--watermark",
        "off",
        checkpoint=tiny_checkpoint,
    )
    assert code == 0, stderr
    written = sorted(outdir.glob("*.png"))
    model = load_checkpoint(tiny_checkpoint).model
    size = model.config.frame_shape
    source = fit_image(cv2.cvtColor(cv2.imread(str(source_png)), cv2.COLOR_BGR2RGB), size, "crop")
    with VideoReader(samples.v25) as reader:
        frames = [fit_image(f, size, "crop") for f in reader]
    # --smooth auto (the default) is the engine's One-Euro filter at the video's rate.
    session = Animator(model).session(
        frames_to_tensor(source)[0], smoothing=OneEuroSettings(), fps=25.0
    )
    expected = tensor_to_frames(session.animate_batch(frames_to_tensor(np.stack(frames))))
    assert len(written) == len(expected)
    for path, want in zip(written, expected, strict=True):
        got = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_threads_option_sets_model_and_codec_threads(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    before = torch.get_num_threads()
    try:
        code, stdout, stderr = animate(
            source_png, samples.v25, "-o", tmp_path / "out.mp4", "--threads", "1", "--json",
            *FAST, checkpoint=tiny_checkpoint,
        )  # fmt: skip
        assert code == 0, stderr
        assert json.loads(stdout)["frames"] == probe_video(samples.v25).frame_count_estimate
        assert torch.get_num_threads() == 1
        assert codec_thread_args() == ["-threads", "1"]
    finally:
        torch.set_num_threads(before)
        set_codec_threads(None)


def test_non_square_driving_is_not_squashed(
    source_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    wide = tmp_path / "wide.mp4"
    canvas = np.zeros((90, 240, 3), np.uint8)
    cv2.circle(canvas, (120, 45), 30, (255, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "wide.png"), canvas)
    ffmpeg("-loop", "1", "-i", str(tmp_path / "wide.png"), "-t", "0.2", "-r", "25",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(wide))  # fmt: skip
    outdir = tmp_path / "cmp"
    code, _, stderr = animate(
        source_png, wide, "-o", f"{outdir}/", "--compare", *FAST, checkpoint=tiny_checkpoint
    )
    assert code == 0, stderr
    panel = cv2.imread(str(sorted(outdir.glob("*.png"))[0]), cv2.IMREAD_GRAYSCALE)
    h = panel.shape[0]
    driving_panel = panel[:, h : 2 * h] > 128
    ys, xs = np.nonzero(driving_panel)
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    assert abs(width / height - 1) < 0.15, f"circle became {width}x{height}"


def test_bundled_outputs_gif(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path
):
    out = tmp_path / "out.gif"
    code, _, stderr = animate(source_png, samples.v25, "-o", out, *FAST, checkpoint=tiny_checkpoint)
    assert code == 0, stderr
    assert out.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_existing_output_needs_overwrite(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    code, _, stderr = animate(source_png, samples.v25, "-o", out, *FAST, checkpoint=tiny_checkpoint)
    assert code == 2
    assert "--overwrite" in stderr
    assert out.read_bytes() == b"precious"
    code, _, stderr = animate(
        source_png, samples.v25, "-o", out, "-y", *FAST, checkpoint=tiny_checkpoint
    )
    assert code == 0, stderr
    assert probe_video(out).fps == Fraction(25)


def _bad_inputs(samples: Samples, source_png: Path, tmp_path: Path) -> dict[str, tuple]:
    text_png = tmp_path / "broken.png"
    text_png.write_text("not an image")
    not_fomm = tmp_path / "resnet.pth"
    import torch

    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, not_fomm)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    return {
        "missing source": (tmp_path / "nope.png", samples.v25, []),
        "missing driving": (source_png, tmp_path / "nope.mp4", []),
        "directory as source": (tmp_path, samples.v25, []),
        "directory as driving": (source_png, tmp_path, []),
        "text renamed mp4": (source_png, samples.text_as_mp4, []),
        "zero-frame video": (source_png, samples.zero_frames, []),
        "truncated mp4": (source_png, samples.truncated_no_index, []),
        "truncated faststart mp4": (source_png, samples.truncated_faststart, []),
        "undecodable image": (text_png, samples.v25, []),
        "unwritable output folder": (source_png, samples.v25, ["-o", str(blocker / "out.mp4")]),
        "not an FOMM checkpoint": (source_png, samples.v25, ["--checkpoint", str(not_fomm)]),
        # cuda:99 is missing with or without a GPU, so the case holds on any machine.
        "cuda device that is not there": (source_png, samples.v25, ["--device", "cuda:99"]),
        "fp16 on the CPU": (source_png, samples.v25, ["--device", "cpu", "--fp16"]),
        "bad align": (source_png, samples.v25, ["--align", "sideways"]),
        "avd with a FOMM model": (source_png, samples.v25, ["--mode", "avd"]),
        "align past the end": (source_png, samples.v25, ["--align", "999"]),
    }


BAD_CASES = [
    "missing source",
    "missing driving",
    "directory as source",
    "directory as driving",
    "text renamed mp4",
    "zero-frame video",
    "truncated mp4",
    "truncated faststart mp4",
    "undecodable image",
    "unwritable output folder",
    "not an FOMM checkpoint",
    "cuda device that is not there",
    "fp16 on the CPU",
    "bad align",
    "avd with a FOMM model",
    "align past the end",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_error_and_no_output(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path, case: str
) -> None:
    source, driving, extra = _bad_inputs(samples, source_png, tmp_path)[case]
    workdir = tmp_path / "work"
    workdir.mkdir()
    out = workdir / "out.mp4"
    args = [str(source), str(driving), "-o", str(out), "--crop-source", "off", *extra]
    args += ["--crop-driving", "off"]
    if "--checkpoint" not in extra:
        args += ["--checkpoint", str(tiny_checkpoint)]
    if "--align" not in extra:
        args += ["--align", "first"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no error message"
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 or "Usage" in result.stderr, result.stderr
    assert list(workdir.iterdir()) == []


def test_no_model_available_is_said_clearly(
    samples: Samples, source_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import animatecli.models as models

    monkeypatch.delenv("ANIMATE_CHECKPOINT", raising=False)
    monkeypatch.setattr(models, "CHECKPOINT_DIR", tmp_path / "empty")
    result = runner.invoke(app, [str(source_png), str(samples.v25), "-o", str(tmp_path / "o.mp4")])
    assert result.exit_code == 2
    assert "no model available" in result.stderr


def test_checkpoint_from_environment(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ANIMATE_CHECKPOINT", str(tiny_checkpoint))
    result = runner.invoke(
        app, [str(source_png), str(samples.v25), "-o", str(tmp_path / "o.mp4"), "--json", *FAST]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["checkpoint"]["origin"] == "$ANIMATE_CHECKPOINT"


def test_help_version_and_module_entry_point() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "animatecli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "animate SOURCE DRIVING" in help_text
    assert "animate crop VIDEO" in help_text
    version = subprocess.run(
        [sys.executable, "-m", "animatecli", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and __version__ in version.stdout


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "animatecli", str(tmp_path / "a.png"), str(tmp_path / "b.mp4")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_file_named_like_a_subcommand(
    samples: Samples, source_png: Path, tiny_checkpoint: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crop").write_bytes(source_png.read_bytes())
    for prefix in (["run"], ["--"]):
        out = tmp_path / f"out{len(prefix[0])}.mp4"
        result = runner.invoke(
            app,
            [*prefix, "crop", str(samples.v25), "-o", str(out), *FAST,
             "--checkpoint", str(tiny_checkpoint)],
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert out.exists()


def test_doctor_reports_checkpoint_and_face_weights(tiny_checkpoint: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--checkpoint", str(tiny_checkpoint)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ffmpeg"]["ok"]
    assert report["checkpoint"]["ok"] and report["checkpoint"]["kind"] == "animatecli"
    assert report["checkpoint"]["config"]["frame_shape"] == [64, 64]
    assert report["checkpoint"]["align_corners"] is False  # what the fixture was saved with
    backends = {b["name"]: b for b in report["face_backends"]}
    assert list(backends) == ["face-alignment", "dlib", "lbp"]  # --detector auto's order
    assert backends["dlib"]["usable"] and backends["dlib"]["landmarks"]
    assert backends["lbp"]["usable"] and not backends["lbp"]["landmarks"]
    table = runner.invoke(app, ["doctor", "--checkpoint", str(tiny_checkpoint)])
    assert table.exit_code == 0 and "checkpoint" in table.stdout
    assert "faces: dlib" in table.stdout and "faces: face-alignment" in table.stdout
    assert "align_corners off" in table.stdout


def test_ctrl_c_exits_130_and_leaves_nothing(
    source_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import time

    long_video = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-t", "20", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(long_video))  # fmt: skip
    outdir = tmp_path / "out"
    outdir.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "animatecli", str(source_png), str(long_video),
         "-o", str(outdir / "out.mp4"), *FAST, "--checkpoint", str(tiny_checkpoint)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(outdir.iterdir()):
        time.sleep(0.02)
    assert process.poll() is None, "finished before it could be interrupted"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(outdir.iterdir()) == []
