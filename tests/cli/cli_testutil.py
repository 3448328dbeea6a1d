"""Helpers for tests that run the ``animate`` command in a fresh interpreter, as a user does."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import skimage.data

# `python -c` entry points: the installed command's own main(), with or without torch.
ENTRY = "from animatecli.__main__ import main; main()"
NO_TORCH = "import sys; sys.modules['torch'] = None; " + ENTRY
SRC = Path(__file__).resolve().parents[2] / "src"


def write_face(path: Path, size: int = 96) -> None:
    """The astronaut's face (scikit-image's sample photo), ``size``×``size``."""
    face = cv2.resize(skimage.data.astronaut()[:220, 130:350], (size, size))
    cv2.imwrite(str(path), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (hidden ones included) with its content hash or kind."""
    state = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode):
            state[str(path.relative_to(root))] = hashlib.sha1(path.read_bytes()).hexdigest()
        else:
            state[str(path.relative_to(root))] = stat.filemode(mode)
    return state


def start(
    args: tuple[str, ...],
    cwd: Path,
    checkpoint: Path,
    *,
    torch: bool = True,
    env: tuple[tuple[str, str], ...] = (),
) -> subprocess.Popen[str]:
    """Start ``animate ARGS`` in ``cwd``; ``torch=False`` makes torch unimportable;
    ``env`` sets (or overrides) environment variables."""
    variables = {**os.environ, "OMP_NUM_THREADS": "1", "ANIMATE_CHECKPOINT": str(checkpoint)}
    variables.update(env)
    variables["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), variables.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY if torch else NO_TORCH, *args],
        cwd=cwd,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Wait for a started command; its exit code and output."""
    stdout, stderr = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, match: str) -> None:
    """Exactly one ``error: ...`` line on stderr matching ``match``, no traceback, ``code``."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert re.search(match, lines[0]), lines[0]
    assert proc.returncode == code, lines[0]
