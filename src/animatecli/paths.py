"""Checks on the files a job reads and writes, made before any work starts.

Kept apart from the media stack (OpenCV, Pillow, ffmpeg) and the engine so that the CLI
reports a missing input or an unusable output in a fraction of a second.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from .errors import InputError, OutputError, OutputExistsError

OUTPUT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm")
_BARE_EXTENSIONS = tuple(ext[1:] for ext in OUTPUT_VIDEO_EXTENSIONS)
NAME_MAX = 255  # bytes per path component on Linux, macOS and Windows file systems


def output_name(source: Path, driving: Path) -> str:
    """``SOURCE__DRIVING.mp4`` from the two file stems: the default output of a job (the
    README's naming rule; ``animate run`` writes it in the current folder)."""
    return f"{source.stem}__{driving.stem}.mp4"


def check_input_file(path: str | os.PathLike[str], what: str) -> Path:
    """Fail with a one-line `InputError` unless `path` is an existing, readable file."""
    if os.fspath(path) == "-":
        raise InputError(f"{what} '-': reading from standard input is not supported; give a file")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} {p} does not exist")
    if p.is_dir():
        raise InputError(f"{what} {p} is a folder, not a file")
    if not p.is_file():
        # A FIFO or a device would block the probe forever, or be read only once.
        raise InputError(f"{what} {p} is not a regular file (pipes and devices are not supported)")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {p} is not readable")
    return p


def check_not_stdout(path: str | os.PathLike[str], option: str = "output") -> None:
    """`InputError` for ``-``: outputs are files written atomically, never a stream."""
    if os.fspath(path) == "-":
        raise InputError(
            f"{option} '-': writing to standard output is not supported; give a file name"
        )


def check_name_length(path: str | os.PathLike[str]) -> None:
    """`OutputError` if a component of ``path`` is longer than the file system allows."""
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise OutputError(
                f"output name {part[:40]}... is too long ({size} bytes; the limit is {NAME_MAX})"
            )


class OutputKind(enum.Enum):
    """What an output path asks for."""

    VIDEO = "video"
    GIF = "gif"
    PNG_DIR = "png_dir"


def output_kind(path: str | os.PathLike[str]) -> OutputKind:
    """Classify a target: video by extension, `.gif`, or a folder of PNGs.

    A folder is a path ending in '/' or an existing folder (unless it is named like a video
    or GIF, which `check_output_path` then rejects). A name without an extension is an
    `InputError` rather than a guess: `result` could mean a video or a folder.
    """
    raw = os.fspath(path)
    if not raw.strip():
        raise InputError("the output path is empty")
    check_not_stdout(raw)
    p = Path(raw)
    suffix = p.suffix.lower()
    if raw.endswith(("/", os.sep)):
        return OutputKind.PNG_DIR
    if suffix in OUTPUT_VIDEO_EXTENSIONS:
        return OutputKind.VIDEO
    if suffix == ".gif":
        return OutputKind.GIF
    if p.is_dir():
        return OutputKind.PNG_DIR
    if p.name.startswith(".") and p.name[1:].lower() in (*_BARE_EXTENSIONS, "gif"):
        raise InputError(f"output {raw} is only an extension; give a name, e.g. out{p.name}")
    if not suffix:
        raise InputError(
            f"output {raw} has no extension; use e.g. {p.name}.mp4, or {p.name}/ "
            "for a folder of PNG frames"
        )
    raise InputError(
        f"output {raw} has an unsupported extension '{suffix}'; "
        "use .mp4, .mov, .mkv, .webm, .gif or a folder/"
    )


def _is_frame_dir(p: Path) -> bool:
    """True if every entry of folder `p` looks like a frame this sink would write."""
    return all(
        e.is_file() and e.name.startswith("frame_") and e.suffix == ".png" for e in p.iterdir()
    )


def check_output_path(
    path: str | os.PathLike[str],
    overwrite: bool = False,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> OutputKind:
    """Validate an output target before any work starts; return its kind.

    Raises `InputError` for an unknown kind and `OutputError` (one line) when the target
    exists without `overwrite`, is one of `inputs` (never replaced, even with
    `overwrite`), is the wrong kind of thing, has a name too long for the file system, or
    its parent folder is missing / not a folder / not writable. (The writability check
    uses `os.access`, which root always passes; the write itself still fails cleanly in
    that case.)
    """
    kind = output_kind(path)
    if kind is not OutputKind.PNG_DIR:
        check_file_output(path, overwrite, inputs)
        return kind
    p = Path(path)
    check_name_length(p)
    _check_not_an_input(p, inputs)
    if p.exists() and not p.is_dir():
        raise OutputError(f"output {p} exists and is not a folder")
    if p.is_dir() and any(p.iterdir()):
        if not overwrite:
            raise OutputExistsError(
                f"output folder {p} is not empty; pass --overwrite to replace it"
            )
        if not _is_frame_dir(p):
            # --overwrite replaces the whole folder: never wipe unrelated files.
            raise OutputError(
                f"output folder {p} contains files other than frame_*.png; refusing to replace it"
            )
    _check_parent_writable(p)
    return kind


def check_file_output(
    path: str | os.PathLike[str],
    overwrite: bool = False,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> None:
    """`check_output_path`'s checks for a single-file target of any format (the caller
    checks the format): the name's length, not one of ``inputs``, not a folder, not
    existing without ``overwrite``, a writable parent folder."""
    p = Path(path)
    check_name_length(p)
    _check_not_an_input(p, inputs)
    if p.is_dir():
        raise OutputError(f"output {p} is a folder")
    if p.exists() and not overwrite:
        # Its own class: a batch sharing its folder with another run skips such a pair
        # (the other run may have finished it since the batch looked).
        raise OutputExistsError(f"output {p} exists; pass --overwrite to replace it")
    _check_parent_writable(p)


def _check_not_an_input(p: Path, inputs: tuple[str | os.PathLike[str], ...]) -> None:
    for given in inputs:
        if Path(given).exists() and p.exists() and os.path.samefile(given, p):
            raise OutputError(f"output {p} is an input file; choose another output name")


def _check_parent_writable(p: Path) -> None:
    parent = Path(os.path.abspath(p)).parent
    if not parent.exists():
        raise OutputError(f"cannot write {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {p}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {p}: folder {parent} is not writable")
