"""Fixtures for the modelstore tests: a weights server on 127.0.0.1 (HTTP Range, cuts, stalls,
HTML pages, 404s), an empty cache root and a replaced catalogue (helpers live in
modelstore_testutil.py)."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from animatecli import catalogue, downloads
from animatecli.catalogue import CatalogueEntry

from .modelstore_testutil import HTML_PAGE, Route, WeightsServer


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


@pytest.fixture
def use_catalogue(monkeypatch: pytest.MonkeyPatch) -> object:
    """Replace the catalogue with the given entries (returns the setter)."""

    def install(*entries: CatalogueEntry) -> None:
        monkeypatch.setattr(catalogue, "CATALOGUE", tuple(entries))

    return install
