"""The wheel, installed into a fresh virtual environment outside the repository, runs the
README's Quickstart with the model it carries as package data.

Slow (a venv and its dependencies: a minute or more, longer with a cold pip cache) and
the one test that needs the package index; torch comes from a local wheel when one is
there (TORCH_WHEEL, or /opt/wheels), so nothing big is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH_PIN = "torch==2.13.0"  # as the Makefile's TORCH_PIN


def _torch_requirement() -> str:
    local = os.environ.get("TORCH_WHEEL") or next(
        iter(sorted(Path("/opt/wheels").glob("torch-2.13.0+cpu-*.whl"))), None
    )
    return str(local) if local else TORCH_PIN


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ANIMATE_CHECKPOINT")}
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1500
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.mark.slow
def test_wheel_runs_the_quickstart_outside_the_repository(tmp_path: Path) -> None:
    # Built from a copy of what a clone has, so the build leaves nothing in the checkout.
    tree = tmp_path / "tree"
    for name in ("src", "checkpoints"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    # No build isolation: the build uses this environment's setuptools, offline.
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--wheel-dir", dist, tree, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("animatecli-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    pip = venv / "bin" / "pip"
    _run(pip, "install", "--quiet", _torch_requirement(), cwd=tmp_path)
    _run(pip, "install", "--quiet", wheel, cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    animate = venv / "bin" / "animate"
    examples = ROOT / "examples"
    _run(
        animate, examples / "source.png", examples / "driving.mp4", "-o", "out.mp4", "--json",
        cwd=work,
    )  # fmt: skip
    assert (work / "out.mp4").stat().st_size > 0
    doctor = json.loads(_run(animate, "doctor", "--json", cwd=work).stdout)
    model = Path(doctor["checkpoint"]["path"])
    assert model.is_relative_to(venv) and model.name == "animatecli-synthetic-128.pt"
