"""Helpers for the serve tests: ``animate serve`` started as a user starts it (a real process on a
free loopback port), and the page's requests made with the standard library."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
URL_LINE = re.compile(r"open (http://\S+) in a browser")


class ServerProcess:
    """``python -m animatecli serve --port 0 ARGS`` with its private folder under ``tmpdir``."""

    def __init__(self, tmpdir: Path, *args: str, python_args: tuple[str, ...] = ()):
        """``python_args``: another way to start the server (e.g. ``-c`` code calling
        ``serve.server.run`` with settings the command line does not offer)."""
        self.tmpdir = tmpdir
        tmpdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(tmpdir), "OMP_NUM_THREADS": "1"}
        command = python_args or ("-m", "animatecli", "serve", "--port", "0", *args)
        self.process = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._url = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._url.wait(60):
            self.process.kill()
            raise RuntimeError(f"animate serve did not start: {self.lines}")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            found = URL_LINE.search(line)
            if found:
                self.url = found[1].rstrip("/")
                self._url.set()

    def private_folders(self) -> list[Path]:
        return sorted(self.tmpdir.glob("animate-serve-*"))

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C, as a terminal sends it; the exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout)
        time.sleep(0.1)  # let the reader thread take the last lines
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.interrupt()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body as a browser sends it, and its content type."""
    boundary = "----animatecli-test-boundary"
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """The page's requests, made with the standard library."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80

    def connection(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def submit(
        self,
        fields: dict[str, str],
        files: dict[str, tuple[str, bytes]] | None = None,
        chunked: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        body, content_type = multipart(fields, files or {})
        headers = {"Content-Type": content_type}
        conn = self.connection()
        try:
            if chunked:  # no Content-Length: the server can only count what arrives
                pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
                conn.request("POST", "/api/jobs", body=pieces, headers=headers, encode_chunked=True)
            else:
                conn.request("POST", "/api/jobs", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        except (BrokenPipeError, ConnectionResetError):
            return 0, {}  # the server closed the connection before reading everything
        finally:
            conn.close()

    def follow(self, job_id: str) -> JobStream:
        return JobStream(self.connection(), job_id)


class JobStream:
    """A page's open progress stream; closing it is the page going away."""

    def __init__(self, conn: http.client.HTTPConnection, job_id: str):
        self.conn = conn
        conn.request("GET", f"/api/jobs/{job_id}/events")
        self.response = conn.getresponse()
        assert self.response.status == 200
        assert self.response.headers["content-type"].startswith("text/event-stream")

    def next_status(self) -> dict[str, Any]:
        while True:
            line = self.response.readline().decode()
            if not line:
                raise EOFError("the progress stream ended")
            if line.startswith("data: "):
                return json.loads(line[len("data: ") :])

    def until(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            status = self.next_status()
            if predicate(status):
                return status

    def close(self) -> None:
        self.conn.close()


def example_fields(**options: str) -> dict[str, str]:
    return {
        "kind": "animate",
        "source_example": "source.png",
        "driving_example": "driving.mp4",
        **options,
    }
