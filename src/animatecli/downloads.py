"""Verified, resumable downloads of model weights: only on request, never implicitly.

A file is streamed into ``.NAME.part`` beside its target while its SHA-256 is computed,
and renamed into place only once the hash (the authority, never the mirror) matches: an
interrupted or corrupt download never appears under the name a loader looks for.

- Resumable: a cut connection is resumed at once with an HTTP Range request, and a
  ``.part`` file left by an earlier run (Ctrl-C, a crash) is resumed by the next one.
- Mirrors are tried in order; any failure moves on to the next: an HTTP error, an HTML
  page instead of the file, a wrong size or hash, or a stall (no byte for
  ``stall_seconds``).
- A lock file (``.NAME.lock``) serialises fetches of one file across processes: the second
  waits, then finds the file cached.
- The face-alignment weights keep torch's own cache and its convention of a hash prefix
  in the file name (``s3fd-619a316812.pth``); ``$ANIMATE_WEIGHTS_BASE_URL`` serves them
  from elsewhere (tests run a server on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .atomic import commit
from .errors import DownloadError, InputError
from .faces import FACE_ALIGNMENT_WEIGHT_URLS, face_alignment_checkpoint_dir
from .progress import Reporter, SilentReporter

BASE_URL_ENV = "ANIMATE_WEIGHTS_BASE_URL"
FACE_ALIGNMENT = "face-alignment"
FETCHABLE = (FACE_ALIGNMENT,)
# No byte for this long: the mirror is stalled, try the next (tests lower it).
STALL_SECONDS = 30.0
# Resumes of one mirror in a row that bring no new byte before it counts as failed.
_IDLE_RESUMES = 1
_MAX_RESUMES = 100
_CHUNK = 1 << 20
# Network reads return what has arrived, up to this much (progress and stalls stay fine).
_READ = 1 << 16
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_USER_AGENT = f"animatecli/{__version__}"
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class Wanted:
    """One file to obtain: its final path, the hash it must have (a full hex SHA-256 or,
    for torch hub's names, a prefix), its exact size if known, and the URLs to try."""

    label: str
    target: Path
    sha256: str
    size: int | None
    urls: tuple[str, ...]

    @property
    def partial(self) -> Path:
        """The resumable partial download (kept by Ctrl-C and cut connections)."""
        return self.target.parent / f".{self.target.name}.part"

    def matches(self, digest: str) -> bool:
        return digest.startswith(self.sha256)


@dataclass(frozen=True)
class Fetched:
    """The outcome for one file: ``"downloaded"`` or ``"cached"`` (already there, verified);
    ``url`` is where a downloaded file came from."""

    path: Path
    status: str
    size: int
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "status": self.status, "size": self.size, "url": self.url}


class _MirrorFailed(Exception):
    """This mirror cannot give the file (the reason is the message); try the next.

    ``bad_bytes``: what it wrote into the partial file is wrong and must not be resumed
    elsewhere (a refusal or an error page before any byte keeps a resumable file).
    """

    def __init__(self, reason: str, *, bad_bytes: bool = False):
        super().__init__(reason)
        self.bad_bytes = bad_bytes


def check_url(url: str, what: str) -> str:
    """``url`` if it is an absolute http(s) URL, else a one-line `InputError`."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"{what} must be an http:// or https:// URL, got {url!r}")
    return url.strip()


def weight_files(model: str) -> list[Wanted]:
    """The files of ``model`` (one of `FETCHABLE`) with their URLs and cache paths."""
    if model != FACE_ALIGNMENT:
        raise InputError(f"unknown model {model!r} (can fetch: {', '.join(FETCHABLE)})")
    base = os.environ.get(BASE_URL_ENV)
    if base:
        base = check_url(base, f"${BASE_URL_ENV}").rstrip("/")
    folder = face_alignment_checkpoint_dir()
    files = []
    for url in FACE_ALIGNMENT_WEIGHT_URLS.values():
        name = url.rsplit("/", 1)[-1]
        found = _HASH_IN_NAME.search(name)
        if found is None:
            raise ValueError(f"{name} carries no hash prefix")
        source = f"{base}/{name}" if base else url
        files.append(Wanted(name, folder / name, found.group(1), None, (source,)))
    return files


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_cached(wanted: Wanted) -> bool:
    """Whether the target is there with the right size and hash."""
    try:
        size = wanted.target.stat().st_size
    except OSError:
        return False
    if wanted.size is not None and size != wanted.size:
        return False
    return wanted.matches(sha256_of(wanted.target))


def looks_like_html(head: bytes) -> bool:
    """Whether these first bytes start an HTML page (a quota or "virus scan" page saved
    under the checkpoint's name)."""
    start = head.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        return str(reason)
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def file_lock(target: Path, waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside ``target`` exclusively (waits for another holder, and
    says so once through ``waiting``).

    The lock file is removed on release; a waiter that wakes on a removed file starts
    over, so two processes never both believe they hold the lock.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): fetches are not serialised there
        yield
        return
    lock = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot write to {target.parent}: {_one_line(exc)}") from exc
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DownloadError(f"cannot write to {target.parent}: {_one_line(exc)}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is not None:
                    waiting(f"waiting for another download of {target.name} to finish")
                    waiting = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            now = os.stat(lock)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


class _Download:
    """The state of one file's download across mirrors and resumes."""

    def __init__(self, wanted: Wanted, reporter: Reporter, stall_seconds: float):
        self.wanted = wanted
        self.reporter = reporter
        self.stall_seconds = stall_seconds
        self.digest = hashlib.sha256()
        self.offset = 0

    # -- the partial file ----------------------------------------------------------------

    def load_partial(self) -> None:
        """Hash what an earlier run left in the partial file (it is resumed from there)."""
        self.digest = hashlib.sha256()
        self.offset = 0
        part = self.wanted.partial
        try:
            size = part.stat().st_size
        except FileNotFoundError:
            return
        if self.wanted.size is not None and size > self.wanted.size:
            self.discard()
            return
        with part.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                self.digest.update(chunk)
        self.offset = size

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.wanted.partial.unlink()
        self.digest = hashlib.sha256()
        self.offset = 0

    def _write(self, handle: Any, chunk: bytes) -> None:
        try:
            handle.write(chunk)
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                handle.close()
                self.discard()
                raise DownloadError(
                    f"no space left on the disk of {self.wanted.target.parent} while "
                    f"downloading {self.wanted.label} ({self.offset} bytes written); "
                    "nothing was saved"
                ) from None
            raise DownloadError(
                f"cannot write {self.wanted.partial}: {_one_line(exc)}; nothing was saved"
            ) from exc

    # -- one request ----------------------------------------------------------------------

    def _request(self, url: str) -> Any:
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
        try:
            return urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), timeout=self.stall_seconds
            )
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and self.offset and self.offset == self.wanted.size:
                return None  # the partial file is already whole
            if exc.code == 416:
                self.discard()  # a partial file the server does not recognise: start over
                return self._request(url)
            raise _MirrorFailed(_one_line(exc)) from None

    def _total(self, response: Any) -> int | None:
        """The file's full size as this response states it; switches to a fresh start
        when the server ignored the Range header."""
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isascii() and length.isdigit() else None
        if self.offset and response.status == 200:
            self.discard()  # no range support: the whole file comes again
        elif self.offset and response.status == 206:
            found = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
            if found is None or int(found.group(1)) != self.offset:
                raise _MirrorFailed("answered a range request with the wrong range")
            return int(found.group(2)) if found.group(2) != "*" else None
        return length if self.offset == 0 else None

    def stream(self, url: str, started: list[bool]) -> None:
        """One request from ``self.offset`` to the end of the response (or an error)."""
        response = self._request(url)
        if response is None:
            return
        with response:
            kind = response.headers.get("Content-Type", "")
            if "text/html" in kind.lower():
                raise _MirrorFailed("served an HTML page, not the file")
            total = self._total(response)
            if total is not None and self.wanted.size is not None and total != self.wanted.size:
                # Say what it is when it is a page (a quota or virus-scan page, mislabelled).
                if self.offset == 0 and looks_like_html(response.read1(4096)):
                    raise _MirrorFailed("served an HTML page, not the file")
                raise _MirrorFailed(f"wrong size ({total} bytes, expected {self.wanted.size})")
            if not started[0]:
                # A resumed download counts the bytes still to come (honest speed and ETA).
                whole = self.wanted.size or total
                label = self.wanted.label
                if self.offset and whole:
                    label += f" (resumed at {100 * self.offset / whole:.0f}%)"
                self.reporter.start(label, whole - self.offset if whole else None)
                started[0] = True
            mode = "ab" if self.offset else "wb"
            try:
                handle = self.wanted.partial.open(mode)
            except OSError as exc:
                raise DownloadError(
                    f"cannot write to {self.wanted.target.parent}: {_one_line(exc)}"
                ) from exc
            with handle:
                while chunk := response.read1(_READ):
                    if self.offset == 0 and looks_like_html(chunk):
                        raise _MirrorFailed("served an HTML page, not the file")
                    if self.wanted.size is not None and self.offset + len(chunk) > self.wanted.size:
                        raise _MirrorFailed(
                            f"wrong size (more than {self.wanted.size} bytes)", bad_bytes=True
                        )
                    self._write(handle, chunk)
                    self.digest.update(chunk)
                    self.offset += len(chunk)
                    # Written before reported: an interrupt from the reporter (Ctrl-C) keeps
                    # every byte received in the partial file.
                    self.reporter.advance(len(chunk))
            if total is not None and self.offset < total:
                raise ConnectionError(f"connection closed at {self.offset} of {total} bytes")

    # -- one mirror -----------------------------------------------------------------------

    def from_mirror(self, url: str) -> str | None:
        """Download from ``url`` (resuming after cuts); None when the file is complete and
        verified in the partial file, else why this mirror failed."""
        resumed_from_disk = self.offset > 0
        idle = 0
        started = [False]
        for _ in range(_MAX_RESUMES):
            before = self.offset
            try:
                self.stream(url, started)
            except _MirrorFailed as exc:
                if exc.bad_bytes:
                    self.discard()
                return str(exc)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if self.offset > before:
                    idle = 0
                    continue  # a cut connection that brought bytes: resume at once
                idle += 1
                if idle <= _IDLE_RESUMES and before > 0:
                    continue
                reason = _one_line(exc)
                if isinstance(exc, TimeoutError) or reason == "timed out":
                    reason = f"stalled (no data for {self.stall_seconds:g} s)"
                return reason
            else:
                if self.wanted.size is not None and self.offset < self.wanted.size:
                    if self.offset > before:
                        continue  # the server closed early; ask for the rest
                    return f"ended at {self.offset} of {self.wanted.size} bytes"
                got = self.digest.hexdigest()
                if self.wanted.matches(got):
                    return None
                self.discard()
                if resumed_from_disk:
                    # The old partial file may have come from elsewhere: once more from 0.
                    resumed_from_disk = False
                    started[0] = False
                    self.reporter.finish()
                    continue
                return f"corrupt (SHA-256 {got[:10]}..., expected {self.wanted.sha256[:10]}...)"
        return "gave up after too many interrupted connections"


def download(
    wanted: Wanted, reporter: Reporter | None = None, stall_seconds: float | None = None
) -> Fetched:
    """Obtain ``wanted`` from its mirrors in order (the caller holds its lock).

    Raises:
        DownloadError: every mirror failed (one line naming each reason); a partial file is
            kept only where it can be resumed (a cut or stalled connection).
        KeyboardInterrupt: Ctrl-C; the partial file is kept for the next run.
    """
    reporter = reporter or SilentReporter()
    stall = STALL_SECONDS if stall_seconds is None else stall_seconds
    if not wanted.urls:
        raise DownloadError(f"no download location known for {wanted.label}")
    try:
        wanted.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot write to {wanted.target.parent}: {_one_line(exc)}") from exc
    state = _Download(wanted, reporter, stall)
    state.load_partial()
    reasons = []
    try:
        for url in wanted.urls:
            reason = state.from_mirror(url)
            reporter.finish()
            if reason is None:
                commit(wanted.partial, wanted.target, overwrite=True)
                return Fetched(wanted.target, "downloaded", state.offset, url)
            reasons.append(f"{url}: {reason}")
            if url != wanted.urls[-1]:
                reporter.notice(f"{url}: {reason}; trying the next mirror")
    finally:
        reporter.finish()
    if state.offset == 0:
        state.discard()  # nothing worth resuming
    kept = (
        f"; {state.offset} bytes kept in {wanted.partial.name} to resume"
        if state.offset
        else "; nothing was saved"
    )
    raise DownloadError(f"cannot download {wanted.label}: {'; '.join(reasons)}{kept}")


def obtain(
    wanted: Wanted, reporter: Reporter | None = None, stall_seconds: float | None = None
) -> Fetched:
    """``wanted``, verified: the cached file if intact, else downloaded (under its lock)."""
    with file_lock(wanted.target, (reporter or SilentReporter()).notice):
        if is_cached(wanted):
            return Fetched(wanted.target, "cached", wanted.target.stat().st_size)
        return download(wanted, reporter, stall_seconds)


def fetch(
    model: str, reporter: Reporter | None = None, stall_seconds: float | None = None
) -> list[Fetched]:
    """Make sure every weight file of ``model`` is cached and intact; download what is not.

    A cached file whose hash does not match its name is downloaded again.
    """
    return [obtain(item, reporter, stall_seconds) for item in weight_files(model)]
