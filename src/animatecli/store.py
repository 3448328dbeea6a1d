"""The model store behind ``animate models list | fetch | add | path | rm`` (no torch).

The catalogue (`animatecli.catalogue`) says what exists; the cache folder
(``catalogue.models_dir()``) holds what was fetched or added, under the released file
names. Every function here returns plain results (``to_dict`` for ``--json``) or raises
an `AnimateError` with one line, so the CLI commands stay thin.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import catalogue
from .atomic import commit, remove_stale_temporaries, temp_sibling
from .catalogue import CatalogueEntry, not_cached_message
from .downloads import (
    FACE_ALIGNMENT,
    Fetched,
    Wanted,
    check_url,
    file_lock,
    looks_like_html,
    obtain,
    sha256_of,
)
from .downloads import fetch as fetch_face_alignment
from .errors import InputError, OutputError
from .progress import Reporter, SilentReporter


def _unknown(name: str) -> InputError:
    known = ", ".join([FACE_ALIGNMENT, *catalogue.names()])
    return InputError(f"unknown model {name!r} (can fetch: {known})")


def entry(name: str) -> CatalogueEntry:
    """The catalogue entry ``name``, or a one-line `InputError` listing the names."""
    found = catalogue.find(name)
    if found is None:
        known = ", ".join(catalogue.names())
        raise InputError(f"unknown model {name!r} (the catalogue has: {known})")
    return found


def wanted(item: CatalogueEntry, urls: tuple[str, ...] | None = None) -> Wanted:
    """The download of ``item`` into the cache (from ``urls`` instead of its mirrors)."""
    return Wanted(
        item.file_name,
        catalogue.cached_path(item),
        item.sha256,
        item.size,
        item.mirrors if urls is None else urls,
    )


# -- list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelState:
    """A catalogue entry and what the cache holds of it (sizes only: listing hashes
    nothing; ``fetch`` verifies)."""

    entry: CatalogueEntry
    path: Path
    cached: bool
    partial_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "path": str(self.path),
            "cached": self.cached,
            "partial_bytes": self.partial_bytes,
        }


def list_models() -> list[ModelState]:
    """Every catalogue entry with its cache state."""
    states = []
    for item in catalogue.CATALOGUE:
        path = catalogue.cached_path(item)
        try:
            size = path.stat().st_size
            cached = item.size is None or size == item.size
        except OSError:
            cached = False
        try:
            partial = wanted(item).partial.stat().st_size
        except OSError:
            partial = 0
        states.append(ModelState(item, path, cached, partial))
    return states


def _mib(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**20:.0f} MiB"


def render_list(states: list[ModelState], console: Console) -> None:
    """The ``animate models list`` table, then the cache folder and the licence note."""
    table = Table(title="animatecli model catalogue")
    table.add_column("name", no_wrap=True)
    table.add_column("config", no_wrap=True)
    for column in ("for", "size", "cached", "licence", "trained on"):
        table.add_column(column)
    for state in states:
        item = state.entry
        if state.cached:
            status = "[green]yes[/]"
        elif state.partial_bytes and item.size:
            status = f"partial {100 * state.partial_bytes / item.size:.0f}%"
        elif state.partial_bytes:
            status = f"partial {_mib(state.partial_bytes)}"
        else:
            status = "no"
        table.add_row(
            item.name,
            item.config,
            item.domain,
            _mib(item.size),
            status,
            item.licence,
            item.training_data,
        )
    console.print(table)
    console.print(
        f"cache: {catalogue.models_dir()}  (set $ANIMATE_HOME to move it)\n"
        "fetch one with `animate models fetch NAME`, then `animate PHOTO VIDEO --checkpoint "
        "NAME`. The weights' terms are their authors'; the data sets they were trained on "
        "carry their own.",
        highlight=False,
    )


# -- fetch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """One fetched name and its files (face-alignment has two, catalogue entries one)."""

    name: str
    files: list[Fetched]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, "files": [f.to_dict() for f in self.files]}


def fetch_models(
    names: list[str],
    reporter: Reporter | None = None,
    from_url: str | None = None,
    stall_seconds: float | None = None,
) -> list[FetchResult]:
    """Fetch each name (catalogue entries, or ``face-alignment``) that is not cached.

    ``from_url``: one location the user trusts for a single catalogue name, tried instead
    of the mirrors (the download must still have the catalogue's hash).
    """
    reporter = reporter or SilentReporter()
    for name in names:
        if name != FACE_ALIGNMENT and catalogue.find(name) is None:
            raise _unknown(name)
    urls = None
    if from_url is not None:
        if len(names) != 1 or names[0] == FACE_ALIGNMENT:
            raise InputError("--from takes one catalogue model name")
        urls = (check_url(from_url, "--from"),)
    results = []
    for name in names:
        if name == FACE_ALIGNMENT:
            results.append(FetchResult(name, fetch_face_alignment(name, reporter, stall_seconds)))
            continue
        item = wanted(entry(name), urls)
        results.append(FetchResult(name, [obtain(item, reporter, stall_seconds)]))
    return results


# -- add ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    """A file the user had, recognised and placed in the cache.

    ``placed``: ``"hardlink"``, ``"reflink"`` or ``"copy"`` (no second copy where the file
    system allows), or ``"cached"`` when the cache already held it.
    """

    source: Path
    name: str
    path: Path
    placed: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "model": self.name,
            "path": str(self.path),
            "placed": self.placed,
        }


def _what_it_is(path: Path, size: int, digest: str) -> str:
    """Why a file is not a catalogue checkpoint, as precisely as can be told."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if looks_like_html(head):
        return (
            "it is an HTML page (a download site's quota, login or virus-scan page saved "
            "under that name), not a checkpoint"
        )
    by_name = [e for e in catalogue.CATALOGUE if e.file_name == path.name]
    for item in by_name or catalogue.CATALOGUE:
        if item.size is not None and size < item.size and (by_name or size > item.size // 100):
            return (
                f"it looks truncated: {size} bytes where {item.name} ({item.file_name}) has "
                f"{item.size}; download it again"
            )
    if head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar":
        return "it is a tar or gzip archive; the checkpoint is the .pth.tar file itself"
    return f"its SHA-256 {digest[:16]}... matches no catalogue entry"


def _reflink(source: Path, target: Path) -> bool:
    """Clone ``source`` into a new ``target`` sharing its blocks (Btrfs, XFS); False where
    the file system cannot."""
    try:
        import fcntl

        clone = 0x40049409  # FICLONE (Linux)
        with source.open("rb") as src, target.open("xb") as dst:
            fcntl.ioctl(dst.fileno(), clone, src.fileno())
        return True
    except (ImportError, OSError):
        with contextlib.suppress(OSError):
            target.unlink()
        return False


def _place(source: Path, temp: Path) -> str:
    """Make ``temp`` hold ``source``'s bytes: a hard link, a reflink, else a copy. The
    user's file is never moved or changed."""
    try:
        os.link(source, temp)
        return "hardlink"
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
            raise
    if _reflink(source, temp):
        return "reflink"
    shutil.copyfile(source, temp)
    return "copy"


def add_file(path: Path) -> AddResult:
    """Recognise ``path`` by its SHA-256 and place it in the cache under its catalogue name.

    Raises:
        InputError: the file is missing, or is not a catalogue checkpoint (an HTML page, a
            truncated download, an archive, an unknown hash): nothing is placed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        size = path.stat().st_size
        digest = sha256_of(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    item = catalogue.find_by_sha256(digest)
    if item is None or (item.size is not None and size != item.size):
        raise InputError(f"{path} is not a known checkpoint: {_what_it_is(path, size, digest)}")
    target = catalogue.cached_path(item)
    with file_lock(target):
        if target.is_file() and target.stat().st_size == size and sha256_of(target) == digest:
            return AddResult(path, item.name, target, "cached")
        # The atomic writer's temporary naming: a killed run's leftover is recognised.
        remove_stale_temporaries(target)
        temp = temp_sibling(target, "")
        try:
            placed = _place(path, temp)
            commit(temp, target, overwrite=True)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise OutputError(f"cannot place {path} in {target.parent}: {exc.strerror}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    return AddResult(path, item.name, target, placed)


def add_files(paths: list[Path]) -> list[AddResult]:
    """`add_file` for each path; refusals are reported together, after the good files are
    placed (one line)."""
    results, refused = [], []
    for path in paths:
        try:
            results.append(add_file(path))
        except InputError as exc:
            refused.append(str(exc))
    if refused:
        raise InputError("; ".join(refused))
    return results


# -- path, rm -------------------------------------------------------------------------------


def model_path(name: str) -> Path:
    """The cached file of ``name``; a one-line `InputError` naming the fetch command if
    it is not cached."""
    item = entry(name)
    path = catalogue.cached_path(item)
    if not path.is_file() or (item.size is not None and path.stat().st_size != item.size):
        raise InputError(not_cached_message(name))
    return path


@dataclass(frozen=True)
class RemoveResult:
    """What ``rm`` deleted (the cached file and any partial download)."""

    name: str
    removed: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, "removed": [str(p) for p in self.removed]}


def remove_model(name: str) -> RemoveResult:
    """Delete ``name``'s cached file and partial download (a file placed by ``add`` as a
    hard link leaves the user's own name intact)."""
    item = wanted(entry(name))
    removed = []
    if not item.target.parent.is_dir():
        return RemoveResult(name, removed)
    with file_lock(item.target):
        for path in (item.target, item.partial):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise OutputError(f"cannot delete {path}: {exc.strerror}") from exc
    return RemoveResult(name, removed)
