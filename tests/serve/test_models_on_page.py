"""The web page and the model catalogue: cached catalogue models are offered by name, the
others with the command that fetches them (the server never downloads), a name that is not
fetched stops ``serve`` at start, and the bundled model's real-face notice reaches the page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import imageio_ffmpeg
import pytest
import skimage.data
import torch
from testutil import Samples, tiny_model_config
from typer.testing import CliRunner

from animatecli import catalogue
from animatecli.catalogue import BUNDLED_ON_REAL_FACE_NOTICE
from animatecli.cli import app
from animatecli.engine import official_container
from animatecli.engine.fomm import FommModel
from animatecli.errors import CheckpointError
from animatecli.serve.app import STATIC_DIR
from animatecli.serve.jobs import JobProgress
from animatecli.serve.service import WebService
from animatecli.serve.settings import ServeSettings
from animatecli.serve.uploads import ReceivedForm, UploadedFile
from tests.modelstore.modelstore_testutil import entry_for

from .serve_testutil import EXAMPLES, Client, ServerProcess

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model cache ($ANIMATE_HOME, inherited by servers the test starts)."""
    root = tmp_path / "animate_home"
    monkeypatch.setenv(catalogue.HOME_ENV, str(root))
    monkeypatch.delenv(catalogue.CHECKPOINT_ENV, raising=False)
    return root


@pytest.fixture
def two_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A catalogue of a tiny official-layout FOMM file (``test-fomm``, returned) and an
    entry nobody has (``test-other``)."""
    torch.manual_seed(2)
    official = tmp_path / "download.pth.tar"
    torch.save(official_container(FommModel(tiny_model_config()).eval()), official)

    never = ("http://127.0.0.1:9/never",)
    entries = (
        entry_for("test-fomm", official.read_bytes(), never),
        entry_for("test-other", b"z" * 10, never),
    )
    monkeypatch.setattr(catalogue, "CATALOGUE", entries)
    yield official


def test_the_page_offers_cached_models_by_name_and_how_to_fetch_the_others(
    home: Path, two_entries: Path, samples: Samples
) -> None:
    with pytest.raises(CheckpointError, match="`animate models fetch test-fomm`"):
        WebService(ServeSettings(checkpoint=Path("test-fomm"), device="cpu"))
    assert CliRunner().invoke(app, ["models", "add", str(two_entries)]).exit_code == 0
    for explicit in (None, Path("test-fomm")):
        service = WebService(ServeSettings(checkpoint=explicit, device="cpu"))
        try:
            page = service.config()
            assert "test-fomm" in page["checkpoints"]
            if explicit is not None:
                assert page["checkpoints"][0] == "test-fomm"  # --checkpoint is selected first
            assert service.checkpoints["test-fomm"] == home / "models" / "test-fomm.pth.tar"
            assert page["fetchable_models"] == [
                {
                    "name": "test-other",
                    "domain": "face",
                    "licence": "MIT",
                    "command": "animate models fetch test-other",
                }
            ]
            if explicit is not None:  # a job on the page with the catalogue model
                folder = service.workspace.job_folder("job")
                form = ReceivedForm(
                    fields={"kind": "animate", "checkpoint": "test-fomm", "crop_source": "off"},
                    files={
                        "source": UploadedFile(EXAMPLES / "source.png", "me.png", 1),
                        "driving": UploadedFile(samples.v25, "talk.mp4", 1),
                    },
                )
                (output,) = service.build_job("job", folder, form).work(JobProgress())
                assert output.path.stat().st_size > 0 and output.label.endswith("; test-fomm")
        finally:
            service.close()
    script = (STATIC_DIR / "app.js").read_text()
    assert "config.fetchable_models" in script and "model.command" in script
    assert 'id="fetchable-models"' in (STATIC_DIR / "index.html").read_text()


def test_serve_with_a_name_not_fetched_stops_at_start(home: Path, tmp_path: Path) -> None:
    server = subprocess.run(
        [sys.executable, "-m", "animatecli", "serve", "--port", "0", "--checkpoint", "fomm-vox"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    lines = [line for line in server.stderr.splitlines() if line.strip()]
    assert server.returncode == 2 and len(lines) == 1, server.stderr
    assert "`animate models fetch fomm-vox`" in lines[0]
    assert not list(tmp_path.glob("animate-serve-*"))


def test_a_real_photo_with_the_bundled_model_shows_the_notice_on_the_page(
    home: Path, tmp_path: Path
) -> None:
    driving = tmp_path / "driving4.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(EXAMPLES / "driving.mp4"), "-frames:v", "4",
         "-c", "copy", "-an", str(driving)],
        check=True,
    )  # fmt: skip
    ok, photo = cv2.imencode(".png", cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    server = ServerProcess(tmp_path / "serve")
    try:
        client = Client(server.url)
        status, page = client.request("GET", "/api/config")
        config = json.loads(page)
        assert status == 200 and config["checkpoints"][0] == "animatecli-synthetic-128.pt"
        fetchable = {m["name"]: m["command"] for m in config["fetchable_models"]}
        assert fetchable["fomm-vox"] == "animate models fetch fomm-vox"
        assert set(fetchable) == set(catalogue.names())  # nothing cached in this home
        uploads = {
            "source": ("me.png", photo.tobytes()),
            "driving": ("talk.mp4", driving.read_bytes()),
        }
        status, answer = client.submit({"kind": "animate"}, uploads)
        assert status == 201, answer
        stream = client.follow(answer["id"])
        done = stream.until(lambda s: s["state"] in ("done", "failed"))
        stream.close()
        assert done["state"] == "done", done["error"]
        assert done["progress"]["notices"].count(BUNDLED_ON_REAL_FACE_NOTICE) == 1
        # The page lists the job's notices as they come (the script draws them all).
        script = (STATIC_DIR / "app.js").read_text()
        assert "progress.notices.map" in script
    finally:
        assert server.interrupt() == 0
