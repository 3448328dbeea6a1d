"""``animate serve`` started as a user starts it: a real process on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
URL_LINE = re.compile(r"open (http://\S+) in a browser")


class ServerProcess:
    """``python -m animatecli serve --port 0 ARGS`` with its private folder under ``tmpdir``."""

    def __init__(self, tmpdir: Path, *args: str):
        self.tmpdir = tmpdir
        tmpdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(tmpdir), "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "animatecli", "serve", "--port", "0", *args],
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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with default settings, shared by the tests that leave it as they found it."""
    process = ServerProcess(tmp_path_factory.mktemp("serve"))
    yield process
    process.close()
