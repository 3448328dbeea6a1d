"""Shared test fixtures: sample media made once per session with the bundled ffmpeg, and
tiny checkpoints. Plain helpers (the `Samples` type, `tiny_model_config`, the
`without_driver` marker) live in testutil.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from testutil import Samples, ffmpeg, tiny_model_config


@pytest.fixture(autouse=True, scope="session")
def _private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every signed output makes (once) a signing key in the config folder: keep the tests'
    in a temporary one, never the user's (subprocesses inherit it)."""
    previous = os.environ.get("ANIMATE_CONFIG_HOME")
    os.environ["ANIMATE_CONFIG_HOME"] = str(tmp_path_factory.mktemp("animate_config"))
    yield
    if previous is None:
        os.environ.pop("ANIMATE_CONFIG_HOME", None)
    else:
        os.environ["ANIMATE_CONFIG_HOME"] = previous


def _lavfi_video(size: str, rate: str, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-t", str(seconds)]


def _lavfi_audio(rate: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}"]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    root = tmp_path_factory.mktemp("media_samples")
    s = Samples(
        root=root,
        v25=root / "v25.mp4",
        v30_audio=root / "v30_audio.mov",
        ntsc_audio=root / "ntsc_audio.mp4",
        film_opus=root / "film_opus.webm",
        rotated=root / "rotated.mp4",
        late_video=root / "late_video.mov",
        late_audio=root / "late_audio.mov",
        truncated_faststart=root / "truncated_faststart.mp4",
        truncated_no_index=root / "truncated_no_index.mp4",
        text_as_mp4=root / "notes.mp4",
        audio_only=root / "audio_only.m4a",
        zero_frames=root / "zero_frames.y4m",
    )
    ffmpeg(*_lavfi_video("96x64", "25", 1), *X264, str(s.v25))
    ffmpeg(
        *_lavfi_video("80x60", "30", 1), *_lavfi_audio(48000), "-t", "1",
        *X264, "-c:a", "aac", str(s.v30_audio),
    )  # fmt: skip
    ffmpeg(
        *_lavfi_video("96x64", "30000/1001", 1), *_lavfi_audio(44100), "-t", "1",
        *X264, "-c:a", "aac", "-movflags", "+faststart", str(s.ntsc_audio),
    )  # fmt: skip
    ffmpeg(
        *_lavfi_video("64x64", "24000/1001", 1), *_lavfi_audio(48000), "-t", "1",
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
        "-c:a", "libopus", str(s.film_opus),
    )  # fmt: skip
    ffmpeg("-display_rotation", "90", "-i", str(s.v25), "-c", "copy", str(s.rotated))
    # Video from input 0, audio from input 1; -itsoffset delays the input that follows it.
    late, source, copy = ["-itsoffset", "0.2"], ["-i", str(s.v30_audio)], ["-c", "copy"]
    both = ["-map", "0:v", "-map", "1:a", *copy]
    ffmpeg(*late, *source, *source, *both, str(s.late_video))
    ffmpeg(*source, *late, *source, *both, str(s.late_audio))
    for target, extra in (
        (s.truncated_faststart, ["-movflags", "+faststart"]),
        (s.truncated_no_index, []),
    ):
        full = root / f"full_{target.name}"
        ffmpeg(*_lavfi_video("96x64", "30000/1001", 2), *X264, *extra, str(full))
        data = full.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    s.text_as_mp4.write_text("this is not a video\n")
    ffmpeg(*_lavfi_audio(44100), "-t", "1", "-c:a", "aac", str(s.audio_only))
    s.zero_frames.write_bytes(b"YUV4MPEG2 W64 H64 F25:1 Ip A1:1 C420jpeg\n")
    return s


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random-weight model in our format (64×64 frames): fast enough for I/O
    tests, which check media plumbing rather than animation quality."""
    import torch

    from animatecli.engine.fomm import FommModel
    from animatecli.training.export import save_checkpoint

    torch.manual_seed(0)
    config = tiny_model_config()
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_checkpoint(path, FommModel(config).eval(), {"purpose": "tests"})
    return path


@pytest.fixture
def empty_torch_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the torch hub directory at an empty temporary folder; returns its checkpoints dir.

    Sets the environment (what an un-imported torch would read) and, when torch is already
    imported by another test, its ``set_dir`` override too.
    """
    hub = tmp_path / "torch_home" / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):
        monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    return hub / "checkpoints"
