"""``--checkpoint NAME`` in every command that loads a model: a name that is not fetched
stops the command before any work with the exact fetch command; a fetched one (a
random-weight official-layout file placed by ``add``) loads in run, batch (in-process and
``--jobs`` workers), doctor, eval and the web page."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from testutil import Samples, tiny_model_config
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.engine import official_container
from animatecli.engine.fomm import FommModel

from .modelstore_testutil import entry_for

runner = CliRunner()
Install = Callable[..., None]


@pytest.fixture(scope="module")
def official_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight FOMM saved in the official training layout."""
    torch.manual_seed(1)
    container = official_container(FommModel(tiny_model_config()).eval())
    path = tmp_path_factory.mktemp("hand") / "test-fomm.pth.tar"
    torch.save(container, path)
    return path


@pytest.fixture
def pair_folder(tmp_path: Path, samples: Samples) -> Path:
    """A batch folder: one photo and one short clip."""
    folder = tmp_path / "pairs"
    folder.mkdir()
    image = np.full((64, 64, 3), 90, np.uint8)
    cv2.circle(image, (32, 32), 20, (170, 200, 240), -1)
    cv2.imwrite(str(folder / "face.png"), image)
    shutil.copy(samples.v25, folder / "clip.mp4")
    return folder


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def commands(folder: Path, out: Path) -> dict[str, list[str]]:
    """Each command that loads a model, given ``--checkpoint`` last."""
    photo, clip = str(folder / "face.png"), str(folder / "clip.mp4")
    return {
        "run": [photo, clip, "-o", str(out), "--checkpoint"],
        "batch": ["batch", str(folder), "--checkpoint"],
        "batch --jobs 2": ["batch", str(folder), "--jobs", "2", "--checkpoint"],
        "doctor": ["doctor", "--checkpoint"],
        "eval": ["eval", "--videos", "1", "--frames", "2", "--checkpoint"],
        "serve": ["serve", "--port", "0", "--checkpoint"],
    }


def test_a_name_not_fetched_stops_every_command_before_any_work(
    pair_folder: Path,
    tmp_path: Path,
    animate_home: Path,
    use_catalogue: Install,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_catalogue(entry_for("test-fomm", b"x" * 100, ("http://127.0.0.1:9/never",)))
    out = tmp_path / "out.mp4"
    for command, args in commands(pair_folder, out).items():
        result = runner.invoke(app, [*args, "test-fomm"])
        assert result.exit_code == 2, (command, result.stderr)
        line = one_line(result.stderr)
        assert "`animate models fetch test-fomm`" in line, (command, line)
        assert "Traceback" not in result.stderr
    # The same from $ANIMATE_CHECKPOINT.
    monkeypatch.setenv("ANIMATE_CHECKPOINT", "test-fomm")
    for command, args in commands(pair_folder, out).items():
        result = runner.invoke(app, args[:-1])
        assert result.exit_code == 2, (command, result.stderr)
        assert "`animate models fetch test-fomm`" in one_line(result.stderr), command
    # Nothing was written or downloaded.
    assert not out.exists() and not (pair_folder / "animated").exists()
    assert not animate_home.exists() or not any(animate_home.iterdir())


def test_a_fetched_name_loads_in_batch_workers_doctor_and_eval(
    official_file: Path,
    pair_folder: Path,
    animate_home: Path,
    use_catalogue: Install,
) -> None:
    use_catalogue(entry_for("test-fomm", official_file.read_bytes(), ()))
    assert runner.invoke(app, ["models", "add", str(official_file)]).exit_code == 0
    cached = animate_home / "test-fomm.pth.tar"
    job = ["--crop-source", "off", "--preset", "ultrafast", "--json", "--checkpoint", "test-fomm"]
    for jobs in ("1", "2"):
        out = pair_folder.parent / f"out{jobs}"
        batch = ["batch", str(pair_folder), "-o", str(out), "--jobs", jobs, *job]
        result = runner.invoke(app, batch)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["summary"] == {"ok": 1, "skipped": 0, "failed": 0}
        assert [p.suffix for p in out.iterdir()] == [".mp4"]

    result = runner.invoke(app, ["doctor", "--checkpoint", "test-fomm", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checkpoint"]["ok"] and report["checkpoint"]["path"] == str(cached)
    assert report["checkpoint"]["origin"] == "--checkpoint test-fomm"
    (listed,) = report["models"]["models"]
    assert listed["name"] == "test-fomm" and listed["cached"] and listed["path"] == str(cached)
    assert listed["file"] == "test-fomm.pth.tar" and listed["size"] == cached.stat().st_size

    result = runner.invoke(app, ["eval", "--videos", "1", "--frames", "2", "--json", *job[-2:]])
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["checkpoint"] == str(cached) and scores["l1"] > 0


def test_doctor_lists_the_catalogue_and_what_is_cached(
    official_file: Path, animate_home: Path, use_catalogue: Install
) -> None:
    fetched = entry_for("test-fomm", official_file.read_bytes(), ())
    missing = entry_for("test-other", b"y" * 10, ("http://127.0.0.1:9/never",))
    use_catalogue(fetched, missing)
    assert runner.invoke(app, ["models", "add", str(official_file)]).exit_code == 0
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.stderr
    models = json.loads(result.stdout)["models"]
    assert models["cache"] == str(animate_home)
    assert [(m["name"], m["cached"]) for m in models["models"]] == [
        ("test-fomm", True),
        ("test-other", False),
    ]
    table = runner.invoke(app, ["doctor"], env={"COLUMNS": "250"}).stdout
    assert "model test-fomm" in table and "test-fomm.pth.tar" in table
    assert "not cached: animate models fetch test-other" in table
