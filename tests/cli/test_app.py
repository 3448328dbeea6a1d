"""The application: routing to ``run``, the version, and failures as one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from animatecli import __version__
from animatecli.cli.app import fail, user_errors
from animatecli.errors import ExitCode, OutputError

from .cli_testutil import NO_TORCH


def animate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter that cannot import torch (start-up stays light)."""
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, cwd=cwd
    )


def test_the_version_and_help_need_no_torch(tmp_path: Path) -> None:
    shown = animate("--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout) == (0, f"animatecli {__version__}\n")
    helped = animate("--help", cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("run", "crop", "batch", "doctor", "eval", "serve", "models"):
        assert f" {command} " in helped.stdout


def test_bare_files_go_to_run_and_are_checked_before_torch(tmp_path: Path) -> None:
    """``animate A B`` is ``animate run A B``; a missing input fails before any import of
    the model stack (torch is unimportable here)."""
    for args in (("nowhere.png", "talk.mp4"), ("--", "nowhere.png", "talk.mp4")):
        failed = animate(*args, cwd=tmp_path)
        assert failed.returncode == ExitCode.USAGE
        assert failed.stderr == "error: image nowhere.png does not exist\n"


def test_a_user_error_becomes_its_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as raised, user_errors():
        raise OutputError("cannot write [web]/out.mp4:\n  folder missing")
    assert raised.value.exit_code == OutputError.exit_code
    # One line, markup-looking text printed as it is.
    assert capsys.readouterr().err == "error: cannot write [web]/out.mp4: folder missing\n"
    assert fail("x", 3).exit_code == 3
