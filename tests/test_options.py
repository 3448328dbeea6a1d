"""The option groups and their validation (animatecli.options): the defaults are valid, every
value no run could use is one `InputError` line naming its option, and the accessors turn the
accepted spellings into what a job uses."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from animatecli.errors import ExitCode, InputError
from animatecli.options import (
    CLIP_SIZE_RANGE,
    DEFAULT_CRF,
    DEFAULT_PRESET,
    FACE_MARGIN,
    AnimateOptions,
    CropOptions,
    ModelOptions,
    check_at_least,
    check_choice,
    check_device,
    check_encoding,
    check_range,
)


def refused(make: Any, **values: Any) -> str:
    """The one-line message with which ``make(**values)`` is refused."""
    with pytest.raises(InputError) as raised:
        make(**values)
    assert raised.value.exit_code == ExitCode.USAGE
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_the_checks_name_the_option_and_what_it_takes() -> None:
    check_choice("pad", ("crop", "pad"), "--fit")
    assert refused(check_choice, value="zoom", allowed=("crop", "pad"), option="--fit") == (
        "--fit 'zoom': use one of crop, pad"
    )
    check_range(1, (1, 64), "--batch-size")
    check_range(64, (1, 64), "--batch-size")  # both bounds included
    assert refused(check_range, value=65, bounds=(1, 64), option="--batch-size") == (
        "--batch-size 65: must be between 1 and 64"
    )
    check_at_least(0, 0, "--min-seconds")
    assert refused(check_at_least, value=-1, low=0, option="--min-seconds") == (
        "--min-seconds must be 0 or more, got -1"
    )
    assert refused(check_at_least, value=4.0, low=8.0, option="--min-face", unit=" px") == (
        "--min-face must be at least 8 px, got 4.0"
    )
    for not_a_number in (math.nan, math.inf):
        refused(check_at_least, value=not_a_number, low=0, option="--increase")


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "CUDA:12", " cpu "])
def test_device_spellings_accepted(device: str) -> None:
    check_device(device)


@pytest.mark.parametrize("device", ["gpu", "cuda:", "cuda:x", "mps", "", "cpu,cuda"])
def test_device_spellings_refused(device: str) -> None:
    assert "use auto, cpu, cuda or cuda:N" in refused(check_device, device=device)


def test_encoding_settings_are_x264s() -> None:
    check_encoding(0, "ultrafast")
    check_encoding(51, "placebo")
    assert "--crf 52" in refused(check_encoding, crf=52, preset="medium")
    assert "--preset 'quick'" in refused(check_encoding, crf=18, preset="quick")


def test_the_defaults_of_every_group_are_valid_and_shared() -> None:
    model, job, crop = ModelOptions(), AnimateOptions(), CropOptions()
    assert (model.device, model.threads, model.checkpoint) == ("auto", None, None)
    assert (job.crf, job.preset) == (crop.crf, crop.preset) == (DEFAULT_CRF, DEFAULT_PRESET)
    assert job.crop_increase == crop.increase == FACE_MARGIN == 0.1
    assert job.detector == crop.detector == "auto"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threads": 0}, "--threads 0: must be between 1 and 1024"),
        ({"threads": 1025}, "--threads 1025"),
        ({"device": "tpu"}, "--device 'tpu'"),
    ],
)
def test_model_options_refused(values: dict[str, Any], message: str) -> None:
    assert message in refused(ModelOptions, **values)


def test_model_options_accepted() -> None:
    options = ModelOptions(checkpoint=Path("m.pt"), device="cuda:1", threads=1024, fp16=True)
    assert options.threads == 1024 and options.device == "cuda:1"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "warp"}, "--mode 'warp': use one of relative, absolute, standard, avd"),
        ({"align": "last"}, "--align 'last': use best, first or a frame index"),
        ({"align": "-1"}, "--align '-1'"),
        ({"fit": "zoom"}, "--fit 'zoom'"),
        ({"batch_size": 0}, "--batch-size 0"),
        ({"batch_size": 65}, "--batch-size 65"),
        ({"crf": -1}, "--crf -1"),
        ({"preset": "fastest"}, "--preset 'fastest'"),
        ({"encoder": "hevc"}, "--encoder 'hevc'"),
        ({"crop_source": "on"}, "--crop-source 'on'"),
        ({"crop_driving": "yes"}, "--crop-driving 'yes'"),
        ({"detector": "mtcnn"}, "--detector 'mtcnn'"),
        ({"smooth": "strong"}, "--smooth 'strong': use off, auto or a strength such as 2"),
        ({"smooth": "0.05"}, "--smooth 0.05: must be between 0.1 and 10.0"),
        ({"smooth": "11"}, "--smooth 11.0"),
        ({"faces": "two"}, "--faces 'two': use largest, all or a number of faces"),
        ({"faces": "0"}, "--faces 0: must be between 1 and 32"),
        ({"faces": "33"}, "--faces 33"),
        ({"paste_back": True, "compare": True}, "--paste-back cannot be combined with --compare"),
        ({"faces": "all", "compare": True}, "--faces all cannot be combined with --compare"),
        ({"faces": "2", "crop_source": "off"}, "--faces 2 needs --crop-source auto"),
    ],
)
def test_animate_options_refused(values: dict[str, Any], message: str) -> None:
    assert message in refused(AnimateOptions, **values)


def test_animate_options_accessors() -> None:
    assert AnimateOptions().smoothing_strength() == 1.0  # auto
    assert AnimateOptions(smooth="off").smoothing_strength() is None
    assert AnimateOptions(smooth="2.5").smoothing_strength() == 2.5
    assert AnimateOptions(smooth="10").smoothing_strength() == 10.0
    assert AnimateOptions().face_limit() == 1  # largest
    assert AnimateOptions(faces="all").face_limit() is None
    assert AnimateOptions(faces="32").face_limit() == 32
    assert AnimateOptions().alignment_index() is None  # best
    assert AnimateOptions(align="first").alignment_index() is None
    assert AnimateOptions(align="17").alignment_index() == 17
    # Allowed together: paste-back with several faces, and any mode with any fit.
    AnimateOptions(faces="all", paste_back=True, mode="avd", fit="stretch", batch_size=64)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"every": 0}, "--every must be 1 or more, got 0"),
        ({"min_seconds": -0.5}, "--min-seconds must be 0 or more, got -0.5"),
        ({"increase": math.nan}, "--increase must be 0 or more, got nan"),
        ({"min_face": 7.5}, "--min-face must be at least 8 px, got 7.5"),
        ({"track": "always"}, "--track 'always': use one of auto, static, follow"),
        ({"size": 255}, "--size must be an even number from 16 to 4096, got 255"),
        ({"size": 14}, "--size must be an even number from 16 to 4096, got 14"),
        ({"size": 4098}, "got 4098"),
        ({"detector": "haar"}, "--detector 'haar'"),
        ({"device": "cuda:one"}, "--device 'cuda:one'"),
        ({"crf": 60}, "--crf 60"),
        ({"preset": "turbo"}, "--preset 'turbo'"),
    ],
)
def test_crop_options_refused(values: dict[str, Any], message: str) -> None:
    assert message in refused(CropOptions, **values)


def test_crop_options_accepted_at_their_limits() -> None:
    low, high = CLIP_SIZE_RANGE
    for size in (low, high):
        assert CropOptions(size=size).size == size
    options = CropOptions(every=1, min_seconds=0, increase=0, min_face=8.0, track="follow")
    assert (options.every, options.min_face, options.track) == (1, 8.0, "follow")
