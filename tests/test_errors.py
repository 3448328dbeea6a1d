"""The exit codes (animatecli.errors): each kind of failure has its documented code, and the
README's table lists exactly these codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from animatecli.errors import (
    AnimateError,
    CheckpointError,
    DeviceError,
    DownloadError,
    ExitCode,
    InputError,
    MediaError,
    NoFaceError,
    OutputError,
    OutputExistsError,
)
from animatecli.faces.types import DetectorUnavailable

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AnimateError, 1),
        (MediaError, 1),
        (DownloadError, 1),
        (InputError, 2),
        (CheckpointError, 2),
        (OutputError, 2),
        (OutputExistsError, 2),
        (DeviceError, 2),
        (NoFaceError, 3),
    ],
)
def test_each_failure_carries_its_exit_code(error: type[AnimateError], code: int) -> None:
    assert error("one line").exit_code == code


def test_every_error_the_package_raises_for_users_is_an_animate_error() -> None:
    # The CLI prints one line for an AnimateError and keeps the traceback of anything else.
    assert issubclass(DetectorUnavailable, AnimateError)
    assert issubclass(OutputExistsError, OutputError) and issubclass(OutputError, InputError)
    assert issubclass(CheckpointError, InputError) and issubclass(DeviceError, InputError)


def test_the_codes_are_distinct_and_the_signals_follow_the_shell_convention() -> None:
    codes = {k: v for k, v in vars(ExitCode).items() if k.isupper()}
    assert len(set(codes.values())) == len(codes)
    assert codes["OK"] == 0 and all(v > 0 for k, v in codes.items() if k != "OK")
    assert ExitCode.INTERRUPTED == 128 + 2  # SIGINT
    assert ExitCode.TERMINATED == 128 + 15  # SIGTERM


def test_the_readme_documents_exactly_these_codes() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Exit codes") :]
    table = table[: table.index("\n\n", table.index("|"))]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {v for k, v in vars(ExitCode).items() if k.isupper()}
