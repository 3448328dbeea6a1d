"""Checks on a job's files before any work starts (animatecli.paths): what each kind of
input and output is, and the one-line refusals with their exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from animatecli.errors import ExitCode, InputError, OutputError, OutputExistsError
from animatecli.paths import (
    NAME_MAX,
    OutputKind,
    check_input_file,
    check_name_length,
    check_output_path,
    output_kind,
    output_name,
)


def test_output_name_joins_the_two_stems() -> None:
    assert output_name(Path("in/photo.v2.png"), Path("clips/talk.mov")) == "photo.v2__talk.mp4"


def test_check_input_file_accepts_a_readable_file(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"not read here")
    assert check_input_file(str(photo), "source") == photo


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.png", "does not exist"),
        (lambda p: p, "is a folder, not a file"),
        (lambda p: Path("-"), "reading from standard input is not supported"),
    ],
)
def test_check_input_file_refuses_what_is_not_a_file(
    tmp_path: Path, make: object, message: str
) -> None:
    with pytest.raises(InputError, match=message) as raised:
        check_input_file(make(tmp_path), "source")  # type: ignore[operator]
    assert raised.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(raised.value)


def test_check_input_file_refuses_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        check_input_file(fifo, "driving video")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_check_input_file_refuses_an_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(b"x")
    locked.chmod(0)
    try:
        with pytest.raises(InputError, match="is not readable"):
            check_input_file(locked, "source")
    finally:
        locked.chmod(0o600)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("out.mp4", OutputKind.VIDEO),
        ("OUT.MOV", OutputKind.VIDEO),
        ("a.b.mkv", OutputKind.VIDEO),
        ("clip.webm", OutputKind.VIDEO),
        ("loop.gif", OutputKind.GIF),
        ("frames/", OutputKind.PNG_DIR),
    ],
)
def test_output_kind_by_name(name: str, kind: OutputKind) -> None:
    assert output_kind(name) is kind


def test_an_existing_folder_is_a_png_folder_without_the_slash(tmp_path: Path) -> None:
    (tmp_path / "frames").mkdir()
    assert output_kind(tmp_path / "frames") is OutputKind.PNG_DIR


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the output path is empty"),
        ("  ", "the output path is empty"),
        ("result", "has no extension; use e.g. result.mp4, or result/"),
        (".mp4", "is only an extension; give a name, e.g. out.mp4"),
        (".gif", "is only an extension"),
        ("out.avi", "unsupported extension '.avi'"),
    ],
)
def test_output_kind_refuses_names_it_would_have_to_guess(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        output_kind(name)


def test_check_name_length_counts_bytes_not_characters(tmp_path: Path) -> None:
    check_name_length(tmp_path / ("a" * (NAME_MAX - 4) + ".mp4"))
    # 128 two-byte characters: 128 characters but 256 bytes.
    with pytest.raises(OutputError, match=r"too long \(260 bytes; the limit is 255\)"):
        check_name_length(tmp_path / ("é" * 128 + ".mp4"))


def test_check_output_path_returns_the_kind_of_a_free_target(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "out.mp4") is OutputKind.VIDEO
    assert check_output_path(f"{tmp_path}/frames/") is OutputKind.PNG_DIR
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_output_path(empty) is OutputKind.PNG_DIR


def test_an_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"earlier result")
    with pytest.raises(OutputExistsError, match="exists; pass --overwrite") as raised:
        check_output_path(out)
    assert raised.value.exit_code == ExitCode.USAGE
    assert check_output_path(out, overwrite=True) is OutputKind.VIDEO
    assert out.read_bytes() == b"earlier result"  # checking never touches the file


def test_an_input_is_never_an_output_even_with_overwrite(tmp_path: Path) -> None:
    driving = tmp_path / "talk.mp4"
    driving.write_bytes(b"the user's video")
    alias = tmp_path / "alias.mp4"
    alias.symlink_to(driving)
    for target in (driving, alias):
        with pytest.raises(OutputError, match="is an input file"):
            check_output_path(target, overwrite=True, inputs=(tmp_path / "p.png", driving))
    assert driving.read_bytes() == b"the user's video"


def test_a_folder_output_is_replaced_only_when_it_holds_only_frames(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "frame_000000.png").write_bytes(b"png")
    with pytest.raises(OutputExistsError, match="is not empty; pass --overwrite"):
        check_output_path(frames)
    assert check_output_path(frames, overwrite=True) is OutputKind.PNG_DIR
    (frames / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"contains files other than frame_\*\.png"):
        check_output_path(frames, overwrite=True)


def test_a_target_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_output_path(tmp_path / "out.mp4", overwrite=True)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output_path(f"{tmp_path}/file/", overwrite=True)


def test_the_parent_folder_must_exist_and_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.mp4")
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output_path(tmp_path / "plain" / "out.mp4")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_the_parent_folder_must_be_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            check_output_path(locked / "out.mp4")
    finally:
        locked.chmod(0o700)
