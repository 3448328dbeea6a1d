"""Atomic writes: hidden temporary siblings, their clean-up, and no-clobber renames.

A temporary is named ``.NAME.<host>-<pid>-<rand>.tmp<suffix>``: the host and process id
say who owns it, so a later run can tell the leftovers of a killed run (same host, that
process gone) from the live files of a run still going (another process, or another
machine sharing the folder), and deletes only the former.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from animatecli.errors import OutputError, OutputExistsError
from animatecli.paths import NAME_MAX

_TEMP_MARK = ".tmp"
# Room left in a temporary's name for ".<host>-<pid>-<rand>.tmp<suffix>" (<= 40 bytes).
_PREFIX_NAME_MAX = NAME_MAX - 2 - 40
_HOST_TAG_RE = re.compile("[0-9a-f]{6}")


def _host_tag() -> str:
    """Six hex digits standing for this machine (temporaries may sit on shared storage)."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _temp_prefix(target: Path) -> str:
    """``.NAME.``, with NAME cut (on a character boundary) to leave room for the tag."""
    name = os.fsencode(target.name)[:_PREFIX_NAME_MAX].decode("utf-8", errors="ignore")
    return f".{name}."


def temp_sibling(target: Path, suffix: str) -> Path:
    """An unused hidden path beside `target`, e.g. `.out.mp4.3f9a1c-4242-3f9a.tmp.mp4`;
    not created.

    Not created on purpose: whoever writes it (ffmpeg, Pillow, os.mkdir) then applies the
    user's umask, whereas `tempfile.mkstemp`/`mkdtemp` would leave the final output 0600/0700.
    The real extension comes last so ffmpeg picks the right muxer from the name; a long
    target name is shortened so the temporary name stays within `NAME_MAX`.
    """
    while True:
        tag = f"{_host_tag()}-{os.getpid()}-{secrets.token_hex(2)}{_TEMP_MARK}{suffix}"
        candidate = target.parent / (_temp_prefix(target) + tag)
        if not candidate.exists() and not candidate.is_symlink():
            return candidate


def _owner(tag: str) -> tuple[str, int] | None:
    """(host tag, pid) from a temporary's ``<host>-<pid>-<rand>.tmp<suffix>`` tail."""
    parts = tag.split(_TEMP_MARK, 1)[0].split("-")
    if len(parts) != 3 or not parts[1].isdigit() or not _HOST_TAG_RE.fullmatch(parts[0]):
        return None
    return parts[0], int(parts[1])


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def _temporaries(target: Path) -> Iterator[tuple[Path, bool]]:
    """Each temporary beside ``target`` written by another process, and whether that
    process is gone (only decidable for this machine's: another's counts as alive)."""
    if not target.parent.is_dir():
        return
    prefix = _temp_prefix(target)
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        owner = _owner(entry.name[len(prefix) :])
        if owner is None or owner == (_host_tag(), os.getpid()):
            continue
        host, pid = owner
        yield entry, host == _host_tag() and not _process_exists(pid)


def has_live_temporaries(target: Path) -> bool:
    """True if another process (here or on another machine) is writing ``target`` now."""
    return any(not gone for _, gone in _temporaries(target))


def remove_stale_temporaries(target: Path) -> None:
    """Delete the temporaries that killed runs on this machine left beside ``target``.

    Live temporaries (a concurrent run, here or on another machine) are left alone.
    """
    for entry, gone in list(_temporaries(target)):
        if not gone:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def commit(temp: Path, target: Path, *, overwrite: bool) -> None:
    """Move the finished ``temp`` onto ``target`` in one step.

    Without ``overwrite`` the move cannot clobber a target that appeared meanwhile (a
    hard link fails if the name exists); with it, the last run to commit wins.
    """
    try:
        if overwrite:
            os.replace(temp, target)
            return
        try:
            os.link(temp, target)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise OutputExistsError(
                    f"output {target} exists (written meanwhile by another run); "
                    "pass --overwrite to replace it"
                ) from None
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links on this file system: check, then rename (a small race).
            if target.exists():
                raise OutputExistsError(
                    f"output {target} exists; pass --overwrite to replace it"
                ) from None
            os.replace(temp, target)
            return
        temp.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc


def atomic_write_text(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary sibling (replaces ``target``)."""
    temp = temp_sibling(target, "")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
