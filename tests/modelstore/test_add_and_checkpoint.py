"""``animate models add FILE`` (a file downloaded by hand) and ``--checkpoint NAME``: a
random-weight FOMM file in the official layout, placed by ``add``, runs the main job."""

from __future__ import annotations

import hashlib
import json
import os
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

from .modelstore_testutil import HTML_PAGE, entry_for, payload

runner = CliRunner()
DATA = payload(5, 200_000)
Install = Callable[..., None]


def models(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["models", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_add_recognises_the_file_and_keeps_the_users_copy(
    tmp_path: Path, animate_home: Path, use_catalogue: Install
) -> None:
    use_catalogue(entry_for("test-face", DATA, ()))
    mine = tmp_path / "downloads" / "renamed by the browser (1).pth.tar"
    mine.parent.mkdir()
    mine.write_bytes(DATA)
    code, stdout, stderr = models("add", str(mine), "--json")
    assert code == 0, stderr
    (added,) = json.loads(stdout)["added"]
    cached = animate_home / "test-face.pth.tar"
    assert added["model"] == "test-face" and added["path"] == str(cached)
    assert cached.read_bytes() == DATA and mine.read_bytes() == DATA  # the user's file stays
    if added["placed"] == "hardlink":  # same file system: no second copy
        assert os.path.samefile(cached, mine)
    assert sorted(p.name for p in animate_home.iterdir()) == ["test-face.pth.tar"]
    code, stdout, _ = models("add", str(mine), "--json")
    assert code == 0 and json.loads(stdout)["added"][0]["placed"] == "cached"
    # rm deletes the cache's name only.
    assert models("rm", "test-face")[0] == 0
    assert mine.read_bytes() == DATA and not cached.exists()


def test_add_refuses_an_html_page(
    tmp_path: Path, animate_home: Path, use_catalogue: Install
) -> None:
    use_catalogue(entry_for("test-face", DATA, ()))
    page = tmp_path / "test-face.pth.tar"
    page.write_bytes(HTML_PAGE)
    code, _, stderr = models("add", str(page))
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "HTML page" in lines[0]
    assert not animate_home.exists() or not any(animate_home.iterdir())
    assert page.read_bytes() == HTML_PAGE


def test_add_refuses_a_truncated_file_and_an_unknown_one(
    tmp_path: Path, animate_home: Path, use_catalogue: Install
) -> None:
    use_catalogue(entry_for("test-face", DATA, ()))
    short = tmp_path / "test-face.pth.tar"
    short.write_bytes(DATA[: len(DATA) * 2 // 5])
    other = tmp_path / "other.bin"
    other.write_bytes(payload(9, 1000))
    code, _, stderr = models("add", str(short), str(other))
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1
    assert f"truncated: {len(DATA) * 2 // 5} bytes where test-face" in lines[0]
    assert "matches no catalogue entry" in lines[0]
    assert not animate_home.exists() or not any(animate_home.iterdir())
    code, _, stderr = models("add", str(tmp_path / "missing.pth.tar"))
    assert code == 2 and "no such file" in stderr


@pytest.fixture(scope="module")
def official_fomm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight FOMM saved in the official training layout."""
    torch.manual_seed(0)
    container = official_container(FommModel(tiny_model_config()).eval())
    container["epoch"] = 99
    path = tmp_path_factory.mktemp("hand") / "vox-cpk.pth.tar"
    torch.save(container, path)
    return path


def test_checkpoint_name_runs_the_job_once_added(
    samples: Samples,
    official_fomm_file: Path,
    tmp_path: Path,
    animate_home: Path,
    use_catalogue: Install,
) -> None:
    data = official_fomm_file.read_bytes()
    use_catalogue(entry_for("test-fomm", data, ("http://127.0.0.1:9/never.pth.tar",)))
    photo = tmp_path / "face.png"
    image = np.full((96, 96, 3), 90, np.uint8)
    cv2.circle(image, (48, 48), 28, (170, 200, 240), -1)
    cv2.imwrite(str(photo), image)
    out = tmp_path / "out.mp4"
    job = [str(photo), str(samples.v25), "-o", str(out), "--crop-source", "off", "--json"]
    job += ["--checkpoint", "test-fomm", "--preset", "ultrafast"]
    # Not cached: exit 2 with the exact command, nothing downloaded, nothing written.
    result = runner.invoke(app, job)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.stderr
    assert "`animate models fetch test-fomm`" in lines[0] and not out.exists()
    assert models("add", str(official_fomm_file))[0] == 0
    result = runner.invoke(app, job)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    cached = animate_home / "test-fomm.pth.tar"
    assert report["checkpoint"]["path"] == str(cached)
    assert report["checkpoint"]["kind"] == "official"
    assert report["checkpoint"]["catalogue"] == {"name": "test-fomm", "domain": "face"}
    assert report["checkpoint"]["origin"] == "--checkpoint test-fomm"
    assert out.is_file() and report["frames"] > 0
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_names_resolve_from_the_option_and_the_environment(
    tmp_path: Path,
    animate_home: Path,
    use_catalogue: Install,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from animatecli.errors import CheckpointError
    from animatecli.models import catalogue_entry_of, resolve_checkpoint

    use_catalogue(entry_for("test-face", DATA, ()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="`animate models fetch test-face`") as raised:
        resolve_checkpoint(Path("test-face"))
    assert raised.value.exit_code == 2
    monkeypatch.setenv("ANIMATE_CHECKPOINT", "test-face")
    with pytest.raises(CheckpointError, match="jobs never download"):
        resolve_checkpoint(None)
    mine = tmp_path / "mine.pth.tar"
    mine.write_bytes(DATA)
    assert models("add", str(mine))[0] == 0
    cached = animate_home / "test-face.pth.tar"
    assert resolve_checkpoint(None) == (cached, "$ANIMATE_CHECKPOINT test-face")
    assert resolve_checkpoint(Path("test-face")) == (cached, "--checkpoint test-face")
    entry = catalogue_entry_of(cached)
    assert entry is not None and entry.name == "test-face" and entry.domain == "face"
    assert catalogue_entry_of(mine) is None
    # A file of that name in the working folder is a path, not the catalogue name.
    (tmp_path / "test-face").write_bytes(b"x")
    assert resolve_checkpoint(Path("test-face")) == (Path("test-face"), "--checkpoint")


def test_add_copies_where_it_cannot_link(
    tmp_path: Path, animate_home: Path, use_catalogue: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def no_links(*args: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    use_catalogue(entry_for("test-face", DATA, ()))
    mine = tmp_path / "mine.pth.tar"
    mine.write_bytes(DATA)
    code, stdout, _ = models("add", str(mine), "--json")
    (added,) = json.loads(stdout)["added"]
    assert code == 0 and added["placed"] in ("reflink", "copy")
    cached = animate_home / "test-face.pth.tar"
    assert cached.read_bytes() == DATA and not os.path.samefile(cached, mine)
    assert mine.read_bytes() == DATA
    assert sorted(p.name for p in animate_home.iterdir()) == ["test-face.pth.tar"]
