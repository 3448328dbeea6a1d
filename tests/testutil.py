"""Plain helpers shared by tests (import them: ``from testutil import Samples``); the
fixtures that build on them live in conftest.py, which pytest loads by itself."""

from __future__ import annotations

import ctypes
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import imageio_ffmpeg
import numpy as np
import pytest

if TYPE_CHECKING:
    from animatecli.engine.fomm import ModelConfig

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _nvidia_driver() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


# For the tests of what happens where NVENC/NVDEC cannot work: a machine with the driver
# might make them work.
without_driver = pytest.mark.skipif(_nvidia_driver(), reason="an NVIDIA driver is installed")


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly; fail the test session loudly if it fails."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def pattern_clip(path: Path) -> Path:
    """A 4 s 160×120 25 fps H.264 clip of ffmpeg's testsrc2 at ``path``, one keyframe."""
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "250", str(path),
    )  # fmt: skip
    return path


def damaged_clip(folder: Path) -> Path:
    """``folder/damaged.mp4``: `pattern_clip` with 3000 random bytes in its middle
    (ffmpeg conceals the damage and reports decode errors)."""
    clean = pattern_clip(folder / "clean.mp4")
    data = bytearray(clean.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = np.random.default_rng(1).bytes(3000)
    path = folder / "damaged.mp4"
    path.write_bytes(bytes(data))
    clean.unlink()
    return path


@dataclass(frozen=True)
class Samples:
    """Paths of the generated sample files (see `samples`)."""

    root: Path
    v25: Path  # 96x64, 25 fps, 1 s, no audio (mp4)
    v30_audio: Path  # 80x60, 30 fps, 1 s, AAC 48 kHz (mov)
    ntsc_audio: Path  # 96x64, 30000/1001 fps, 1 s, AAC 44.1 kHz (mp4, faststart)
    film_opus: Path  # 64x64, 24000/1001 fps, 1 s, Opus (webm)
    rotated: Path  # v25 with a 90° display-rotation tag: decodes as 64x96
    late_video: Path  # v30_audio with its video stream starting 0.2 s after the audio
    late_audio: Path  # v30_audio with its audio stream starting 0.2 s after the video
    truncated_faststart: Path  # 2 s mp4 with the index up front, cut to half its bytes
    truncated_no_index: Path  # 2 s mp4 with the index at the end, cut to half its bytes
    text_as_mp4: Path  # a text file named .mp4
    audio_only: Path  # m4a, no video stream
    zero_frames: Path  # y4m header only: a video stream that has no frames


# The frame rates of the samples whose rate the tests compare exactly.
SAMPLE_FPS = {"v25": Fraction(25), "v30_audio": Fraction(30), "ntsc_audio": Fraction(30000, 1001)}


def tiny_model_config(num_kp: int = 5) -> ModelConfig:
    """A few-thousand-parameter model config (64×64 frames) for fast tests."""
    from animatecli.engine.fomm import ModelConfig
    from animatecli.engine.fomm.config import (
        DenseMotionConfig,
        GeneratorConfig,
        KeypointDetectorConfig,
    )

    return ModelConfig(
        num_kp=num_kp,
        kp_detector=KeypointDetectorConfig(block_expansion=8, max_features=32, num_blocks=3),
        generator=GeneratorConfig(
            block_expansion=8,
            max_features=32,
            num_bottleneck_blocks=1,
            dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3),
        ),
        frame_shape=(64, 64),
    )
