"""A weights server on 127.0.0.1 (HTTP Range, cuts, stalls, HTML pages, 404s) and a
catalogue of small files whose hashes the tests inject; the cache is a temporary folder."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from animatecli import catalogue, downloads
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


@pytest.fixture
def weights_server() -> Iterator[WeightsServer]:
    routes: dict[str, Route] = {}
    server_state: list[WeightsServer] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state = server_state[0]
            path = self.path.lstrip("/")
            asked = self.headers.get("Range")
            state.requests.append((path, asked))
            route = routes.get(path)
            if route is None or route.mode == "404":
                self.send_error(404, "Not Found")
                return
            if route.mode in ("html", "html-octet"):
                kind = "text/html; charset=utf-8" if route.mode == "html" else "application/x-tar"
                self._head(200, kind, len(HTML_PAGE))
                self.wfile.write(HTML_PAGE)
                return
            data, start = route.data, 0
            found = re.fullmatch(r"bytes=(\d+)-", asked or "")
            if found and route.ranges:
                start = int(found.group(1))
                if start >= len(data):
                    self.send_error(416, "Range Not Satisfiable")
                    return
                self._head(206, "application/octet-stream", len(data) - start, start, len(data))
            else:
                self._head(200, "application/octet-stream", len(data))
            end = len(data)
            if route.mode == "cut" and route.cuts > 0:
                route.cuts -= 1
                end = max(start, int(len(data) * route.cut_at))
            elif route.mode == "stall":
                end = max(start, int(len(data) * route.cut_at))
            self._send(data, start, end, route.delay)
            if route.mode == "stall":
                state.release.wait(30)
            if end < len(data):
                self.close_connection = True

        def _head(self, code: int, kind: str, length: int, start: int = 0, total: int = 0) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            if code == 206:
                self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
            self.end_headers()

        def _send(self, data: bytes, start: int, end: int, delay: float) -> None:
            for offset in range(start, end, 1 << 14):
                self.wfile.write(data[offset : min(end, offset + (1 << 14))])
                self.wfile.flush()
                if delay:
                    time.sleep(delay)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state = WeightsServer(f"http://127.0.0.1:{httpd.server_port}", routes)
    server_state.append(state)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def animate_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache root ($ANIMATE_HOME); returns its models folder."""
    home = tmp_path / "animate_home"
    monkeypatch.setenv(catalogue.HOME_ENV, str(home))
    monkeypatch.setattr(downloads, "STALL_SECONDS", 1.0)
    return home / catalogue.MODELS_FOLDER


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


@pytest.fixture
def use_catalogue(monkeypatch: pytest.MonkeyPatch) -> object:
    """Replace the catalogue with the given entries (returns the setter)."""

    def install(*entries: CatalogueEntry) -> None:
        monkeypatch.setattr(catalogue, "CATALOGUE", tuple(entries))

    return install


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
