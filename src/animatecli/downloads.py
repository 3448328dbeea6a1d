"""``animate models fetch``: download model weights into their caches, verified and atomic.

Only on request, never implicitly. Each file is streamed to a hidden temporary name in its
cache folder while its SHA-256 is computed, checked against the hash prefix its file name
carries (torch hub's convention, e.g. ``s3fd-619a316812.pth``), and only then renamed into
place: an interrupted or corrupt download never appears under the name a backend looks for.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DownloadError, InputError
from .faces import FACE_ALIGNMENT_WEIGHT_URLS, face_alignment_checkpoint_dir
from .progress import Reporter, SilentReporter

# Serve the weight files from another base URL (tests run a server on 127.0.0.1).
BASE_URL_ENV = "ANIMATE_WEIGHTS_BASE_URL"
FETCHABLE = ("face-alignment",)
_CHUNK = 1 << 20
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


@dataclass(frozen=True)
class WeightFile:
    """One file to fetch: where from, where to, and the SHA-256 prefix it must have."""

    url: str
    target: Path

    @property
    def sha256_prefix(self) -> str:
        found = _HASH_IN_NAME.search(self.target.name)
        if found is None:
            raise ValueError(f"{self.target.name} carries no hash prefix")
        return found.group(1)


@dataclass(frozen=True)
class Fetched:
    """The outcome for one file: ``"downloaded"`` or ``"cached"`` (already there, verified)."""

    path: Path
    status: str
    size: int


def weight_files(model: str) -> list[WeightFile]:
    """The files of ``model`` (one of `FETCHABLE`) with their URLs and cache paths."""
    if model != "face-alignment":
        raise InputError(f"unknown model {model!r} (can fetch: {', '.join(FETCHABLE)})")
    base = os.environ.get(BASE_URL_ENV)
    folder = face_alignment_checkpoint_dir()
    files = []
    for url in FACE_ALIGNMENT_WEIGHT_URLS.values():
        name = url.rsplit("/", 1)[-1]
        files.append(WeightFile(f"{base.rstrip('/')}/{name}" if base else url, folder / name))
    return files


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def download(item: WeightFile, reporter: Reporter, timeout: float = 30.0) -> int:
    """Stream ``item`` to a temporary file beside its target, verify, rename; returns bytes.

    Raises:
        DownloadError: network or server failure, or the content's hash does not match.
    """
    name = item.target.name
    try:
        item.target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{name}.", suffix=".part", dir=item.target.parent
        )
    except OSError as exc:
        raise DownloadError(f"cannot write to {item.target.parent}: {_one_line(exc)}") from exc
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(item.url, timeout=timeout) as response,
        ):
            length = response.headers.get("Content-Length")
            reporter.start(name, int(length) if length else None)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                reporter.advance(len(chunk))
        got = digest.hexdigest()
        if not got.startswith(item.sha256_prefix):
            raise DownloadError(
                f"{name} from {item.url} is corrupt (SHA-256 {got[:10]}..., expected "
                f"{item.sha256_prefix}...); nothing was saved"
            )
        os.replace(temp, item.target)
        return size
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"cannot download {name} from {item.url}: {_one_line(exc)}") from exc
    finally:
        reporter.finish()
        with contextlib.suppress(OSError):
            temp.unlink()


def fetch(model: str, reporter: Reporter | None = None, timeout: float = 30.0) -> list[Fetched]:
    """Make sure every weight file of ``model`` is cached and intact; download what is not.

    A cached file whose hash does not match its name is downloaded again.
    """
    reporter = reporter or SilentReporter()
    results = []
    for item in weight_files(model):
        if item.target.is_file() and sha256_of(item.target).startswith(item.sha256_prefix):
            results.append(Fetched(item.target, "cached", item.target.stat().st_size))
            continue
        size = download(item, reporter, timeout)
        results.append(Fetched(item.target, "downloaded", size))
    return results
