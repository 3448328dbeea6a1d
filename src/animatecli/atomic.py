"""Atomic writes: every file the package writes goes through here.

One mechanism for every writer (pictures, videos, crop clips and their sidecars, batch
reports, checkpoints, training state, downloads): the content is written to a hidden
temporary sibling of the target, which is moved onto the target in one step once it is
complete. A failed or interrupted write therefore never leaves a partial target, and the
temporary it leaves when the process is killed is recognised and deleted by the next
write of that target.

A temporary is named ``.NAME.<host>-<pid>-<rand>.tmp<suffix>``: the host and process id
say who owns it, so a later run can tell the leftovers of a killed run (same host, that
process gone) from the live files of a run still going (another process, or another
machine sharing the folder), and deletes only the former.

API:

- `atomic_output(target, *, suffix=None, overwrite=True, mode=None)`: a context manager
  yielding the temporary path to write (not created: the writer creates it, so the
  user's umask applies). On a clean exit the temporary is moved onto ``target``; if the
  block raises, the temporary is deleted and the exception propagates unchanged (a
  download can raise its own error for a network failure). Leftovers of killed writes of
  the same target are deleted on entry.
- `write_atomically(target, write, ...)`: the same for one call ``write(temp)``, with an
  `OSError` from it reported as `OutputError` ("cannot write TARGET: reason").
- `atomic_write_text(target, text)`: UTF-8 text through `write_atomically`.
- `temp_sibling` / `commit` (`commit_folder` for a folder): the two halves, for writers
  whose temporary outlives one block (the streaming sinks open it, feed it frames, and
  commit at ``close()``).
- `remove_stale_temporaries` / `has_live_temporaries`: the clean-up and the check for a
  concurrent writer; `host_tag` is the ``<host>`` part of this machine's temporaries.
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
from collections.abc import Callable, Iterator
from pathlib import Path

from animatecli.errors import OutputError, OutputExistsError
from animatecli.paths import NAME_MAX

_TEMP_MARK = ".tmp"
# Room left in a temporary's name for ".<host>-<pid>-<rand>.tmp<suffix>" (<= 40 bytes).
_PREFIX_NAME_MAX = NAME_MAX - 2 - 40
_HOST_TAG_RE = re.compile("[0-9a-f]{6}")


def host_tag() -> str:
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
        tag = f"{host_tag()}-{os.getpid()}-{secrets.token_hex(2)}{_TEMP_MARK}{suffix}"
        candidate = target.parent / (_temp_prefix(target) + tag)
        if not candidate.exists() and not candidate.is_symlink():
            return candidate


def _owner(tag: str) -> tuple[str, int] | None:
    """(host tag, pid) from a temporary's ``<host>-<pid>-<rand>.tmp<suffix>`` tail."""
    parts = tag.split(_TEMP_MARK, 1)[0].split("-")
    if (
        len(parts) != 3
        or not (parts[1].isascii() and parts[1].isdigit())
        or not _HOST_TAG_RE.fullmatch(parts[0])
    ):
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
        if owner is None or owner == (host_tag(), os.getpid()):
            continue
        host, pid = owner
        yield entry, host == host_tag() and not _process_exists(pid)


def has_live_temporaries(target: Path) -> bool:
    """True if another process (here or on another machine) is writing ``target`` now."""
    return any(not gone for _, gone in _temporaries(target))


def remove_stale_temporaries(target: Path) -> None:
    """Delete the temporaries that killed runs on this machine left beside ``target``.

    Live temporaries (a concurrent run, here or on another machine) are left alone.
    """
    for entry, gone in list(_temporaries(target)):
        if gone:
            _remove(entry)


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


def commit_folder(temp: Path, target: Path) -> None:
    """Move the finished folder ``temp`` onto ``target``, replacing a folder there.

    A folder cannot be renamed onto a non-empty one: the old one is moved aside first
    (under a temporary name the clean-up recognises), put back if the swap fails, and
    deleted once the new one is in place. Whether the old folder may be replaced is the
    caller's decision, made before.
    """
    old: Path | None = None
    try:
        if target.exists():
            old = temp_sibling(target, ".old")
            os.replace(target, old)
        try:
            os.replace(temp, target)
        except OSError:
            if old is not None:
                os.replace(old, target)
                old = None
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_output(
    target: str | os.PathLike[str],
    *,
    suffix: str | None = None,
    overwrite: bool = True,
    mode: int | None = None,
) -> Iterator[Path]:
    """Write ``target`` through a hidden temporary sibling: ``with atomic_output(t) as temp:``.

    Args:
        target: the final path; its folder must exist.
        suffix: the temporary's last extension (default ``target``'s own, so that tools
            picking a format from the name, like ffmpeg or Pillow, pick the target's).
        overwrite: replace an existing ``target``; without it the final move refuses one
            (`OutputExistsError`), even one that appeared while the block ran.
        mode: permission bits given to the file before the move (e.g. ``0o644`` for a
            model file whatever the umask); default: as created, under the umask.

    Yields the temporary path, not yet created. On a clean exit it is moved onto
    ``target`` (`OutputError` if that fails); if the block raises, the temporary (file or
    folder) is deleted and the exception propagates unchanged. A download, say::

        with atomic_output(item.target) as temp:
            with temp.open("wb") as out:
                for chunk in chunks:  # a network error propagates as itself
                    out.write(chunk)
            if not sha256_of(temp).startswith(item.sha256_prefix):
                raise DownloadError(...)  # the temporary goes, the target is untouched
    """
    target = Path(target)
    # Leftovers of killed writes of this target; live writers' files are kept.
    remove_stale_temporaries(target)
    temp = temp_sibling(target, target.suffix if suffix is None else suffix)
    try:
        yield temp
        if mode is not None:
            try:
                os.chmod(temp, mode)
            except OSError as exc:
                raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        commit(temp, target, overwrite=overwrite)
    finally:
        # After a commit the temporary is gone; otherwise this is what a failure leaves.
        _remove(temp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def write_atomically(
    target: str | os.PathLike[str],
    write: Callable[[Path], object],
    *,
    suffix: str | None = None,
    overwrite: bool = True,
    mode: int | None = None,
) -> None:
    """Call ``write(temp)`` inside `atomic_output` (same arguments); an `OSError` from
    ``write`` is reported as `OutputError` ("cannot write TARGET: reason")."""
    with atomic_output(target, suffix=suffix, overwrite=overwrite, mode=mode) as temp:
        try:
            write(temp)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically, replacing ``target``."""
    write_atomically(target, lambda temp: temp.write_text(text, encoding="utf-8"))
