"""The upscaling stage through real files: images in and out, and short clips with sound
through the bundled ffmpeg (frame rate, sound, rotation, atomic output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animatecli.errors import InputError, OutputError, OutputExistsError
from animatecli.media import load_image, probe_streams, probe_video
from animatecli.progress import SilentReporter
from animatecli.upscale_options import UpscaleOptions, resolve_upscaler
from animatecli.upscaling import load_upscaler, upscale_file

ANIME_X2 = UpscaleOptions(2, "animevideo")


class Recorder(SilentReporter):
    def __init__(self) -> None:
        self.notices: list[str] = []
        self.advanced = 0

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def advance(self, count: int = 1) -> None:
        self.advanced += count


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    pixels = (rng.random((30, 22, 3)) * 255).astype(np.uint8)
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)
    return path


def test_an_image_upscales_to_an_image(picture: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.png"
    result = upscale_file(picture, out, ANIME_X2)
    assert (result.width, result.height, result.frames) == (44, 60, 1)
    written = load_image(out)
    resolved = resolve_upscaler(ANIME_X2, cuda=False, frames=1, height=30, width=22)
    direct = load_upscaler(resolved).upscale_uint8(torch.from_numpy(load_image(picture))[None])
    assert np.array_equal(written, direct[0].numpy())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png", "picture.png"]


def test_image_output_errors(picture: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="an image upscales to an image"):
        upscale_file(picture, tmp_path / "out.mp4", ANIME_X2)
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        upscale_file(picture, existing, ANIME_X2)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(OutputError, match="is an input file"):
        upscale_file(picture, picture, ANIME_X2, overwrite=True)


def test_a_clip_keeps_its_rate_and_sound(samples: object, tmp_path: Path) -> None:
    source = samples.v30_audio  # type: ignore[attr-defined]
    out = tmp_path / "big.mp4"
    reporter = Recorder()
    result = upscale_file(source, out, ANIME_X2, reporter=reporter, batch=4)
    info = probe_video(out)
    assert (info.width, info.height) == (160, 120)
    assert info.fps == 30 and info.has_audio
    video, audio = (
        next(s for s in probe_streams(out) if s.kind == kind) for kind in ("video", "audio")
    )
    assert video.frames == result.frames == reporter.advanced == 30
    assert audio.duration == pytest.approx(1.0, abs=0.05)
    assert result.audio_kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.mp4"]


def test_a_rotated_clip_is_upscaled_upright(samples: object, tmp_path: Path) -> None:
    source = samples.rotated  # type: ignore[attr-defined]
    out = tmp_path / "upright.mp4"
    upscale_file(source, out, ANIME_X2)
    info = probe_video(out)
    assert (info.width, info.height) == (128, 192)  # decoded 64×96, upright


def test_an_interrupted_run_leaves_nothing(samples: object, tmp_path: Path) -> None:
    class Stop(SilentReporter):
        def advance(self, count: int = 1) -> None:
            raise KeyboardInterrupt

    out = tmp_path / "partial.mp4"
    with pytest.raises(KeyboardInterrupt):
        upscale_file(samples.v25, out, ANIME_X2, reporter=Stop())  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


def test_auto_says_what_it_picked(picture: Path, tmp_path: Path) -> None:
    reporter = Recorder()
    upscale_file(picture, tmp_path / "auto.png", UpscaleOptions(2), reporter=reporter)
    assert any(n.startswith("auto: photo") for n in reporter.notices)
