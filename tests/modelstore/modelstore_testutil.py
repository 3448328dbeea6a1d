"""Helpers for the modelstore tests: the routes a weights server on 127.0.0.1 answers (HTTP
Range, cuts, stalls, HTML pages, 404s), catalogue entries for small files whose hashes the
tests inject, and ``animate`` started in a fresh interpreter with such a catalogue."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from animatecli import catalogue
from animatecli.catalogue import CatalogueEntry

SRC = Path(__file__).resolve().parents[2] / "src"
# The installed entry point with the catalogue replaced by $TEST_CATALOGUE (subprocess tests).
PATCHED_ENTRY = (
    "import json, os; from animatecli import catalogue; "
    "catalogue.CATALOGUE = tuple(catalogue.CatalogueEntry(**{**e, 'mirrors': tuple(e['mirrors']),"
    " 'unlisted_mirrors': ()}) for e in json.loads(os.environ['TEST_CATALOGUE'])); "
    "from animatecli.__main__ import main; main()"
)
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>"
    b"<body>Google Drive can't scan this file for viruses.</body></html>\n"
)


def payload(seed: int, size: int) -> bytes:
    """Deterministic pseudo-random bytes (not HTML, not compressible into a prefix)."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


@dataclass
class Route:
    """How the server answers one path.

    ``mode``: ``ok``; ``cut`` (the first ``cuts`` responses stop after ``cut_at`` of the
    file and close the connection); ``stall`` (send ``cut_at`` of the file, then nothing);
    ``html`` (a 200 text/html page); ``html-octet`` (the same page labelled as binary);
    ``404``. ``delay``: seconds between 16 KiB pieces (a slow link).
    """

    data: bytes = b""
    mode: str = "ok"
    cut_at: float = 0.4
    cuts: int = 1
    delay: float = 0.0
    ranges: bool = True


@dataclass
class WeightsServer:
    url: str
    routes: dict[str, Route]
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return f"{self.url}/{path}"

    def ranges_asked(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


def entry_for(
    name: str, data: bytes, mirrors: tuple[str, ...], **changes: object
) -> CatalogueEntry:
    """A catalogue entry for ``data`` (its real hash and size)."""
    base = CatalogueEntry(
        name=name,
        family="fomm",
        config="vox-256",
        domain="face",
        file_name=f"{name}.pth.tar",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        licence="MIT",
        training_data="tests",
        mirrors=mirrors,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def start_animate(
    args: list[str], entries: list[CatalogueEntry], home: Path, **popen: object
) -> subprocess.Popen[str]:
    """``animate ARGS`` in a fresh interpreter, with this catalogue and cache root."""
    env = {
        **os.environ,
        "TEST_CATALOGUE": json.dumps([e.to_dict() for e in entries]),
        catalogue.HOME_ENV: str(home.parent),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-c", PATCHED_ENTRY, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[arg-type]
    )
