"""A job's files, checked before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from animatecli.errors import InputError, OutputError, OutputExistsError
from animatecli.options import AnimateOptions
from animatecli.paths import OutputKind
from animatecli.runtime.preflight import CheckedOutput, check_job_files

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "examples" / "source.png"
DRIVING = ROOT / "examples" / "driving.mp4"


def test_usable_files_give_the_checked_output(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    checked = check_job_files(SOURCE, DRIVING, out, AnimateOptions(), "cpu")
    assert checked == CheckedOutput(out, OutputKind.VIDEO)
    assert not out.exists()  # checking writes nothing


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("missing source", InputError, "does not exist"),
        ("existing output", OutputExistsError, "pass --overwrite"),
        ("output is an input", OutputError, "is an input file"),
        ("nvenc to a GIF", InputError, "--encoder nvenc writes H.264"),
    ],
)
def test_unusable_files_are_refused(
    tmp_path: Path, case: str, error: type[Exception], message: str
) -> None:
    source, out, options = SOURCE, tmp_path / "out.mp4", AnimateOptions()
    if case == "missing source":
        source = tmp_path / "nowhere.png"
    elif case == "existing output":
        out.write_bytes(b"")
    elif case == "output is an input":
        out, options = DRIVING, AnimateOptions(overwrite=True)
    else:
        out, options = tmp_path / "out.gif", AnimateOptions(encoder="nvenc")
    with pytest.raises(error, match=message):
        check_job_files(source, DRIVING, out, options, "cpu")
