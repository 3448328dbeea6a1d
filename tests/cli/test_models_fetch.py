"""``animate models fetch face-alignment`` against a small HTTP server on 127.0.0.1.

The real weight files are ~180 MB from the internet; here the file table points at small
files whose names carry the SHA-256 prefix of their content, served by a local server that
the test starts and stops (the base-URL override exists for this).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from animatecli import downloads
from animatecli.cli import app
from animatecli.faces import face_alignment_weight_paths, face_alignment_weights_available
from animatecli.faces.detectors import face_alignment_fan

runner = CliRunner()
CONTENT = {"s3fd": b"s3fd weights " * 5000, "2DFAN-4": b"fan weights " * 7000}


def hashed_name(stem: str, suffix: str, data: bytes) -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"


@pytest.fixture
def weights_table(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Point the face-alignment file table at small files; returns file name -> content."""
    names = {
        "s3fd": hashed_name("s3fd", ".pth", CONTENT["s3fd"]),
        "2DFAN-4": hashed_name("2DFAN4", ".pth.tar", CONTENT["2DFAN-4"]),
    }
    table = {key: f"https://example.invalid/python-fan/{name}" for key, name in names.items()}
    monkeypatch.setattr(face_alignment_fan, "FACE_ALIGNMENT_WEIGHT_URLS", table)
    monkeypatch.setattr(downloads, "FACE_ALIGNMENT_WEIGHT_URLS", table)
    return {names[key]: CONTENT[key] for key in names}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, object]]:
    """A quiet HTTP server on 127.0.0.1 serving ``tmp_path/served``; the base URL is set."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(downloads.BASE_URL_ENV, f"http://127.0.0.1:{httpd.server_port}/")
    yield root, httpd
    httpd.shutdown()
    httpd.server_close()


def fetch(*extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["models", "fetch", "face-alignment", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


def test_fetch_downloads_verifies_and_caches(
    empty_torch_hub: Path, weights_table: dict[str, bytes], server: tuple[Path, object]
) -> None:
    root, _ = server
    for name, data in weights_table.items():
        (root / name).write_bytes(data)
    assert not face_alignment_weights_available()
    doctor = runner.invoke(app, ["doctor", "--json"])
    (fa,) = [b for b in json.loads(doctor.stdout)["face_backends"] if b["name"] == "face-alignment"]
    assert not fa["usable"] and "animate models fetch face-alignment" in fa["reason"]
    code, stdout, stderr = fetch("--json")
    assert code == 0, stderr
    files = json.loads(stdout)["files"]
    assert [f["status"] for f in files] == ["downloaded", "downloaded"]
    for path in face_alignment_weight_paths():
        assert path.parent == empty_torch_hub
        assert path.read_bytes() == weights_table[path.name]
    assert sorted(p.name for p in empty_torch_hub.iterdir()) == sorted(weights_table)
    assert face_alignment_weights_available() == (face_alignment_fan.face_alignment_installed())
    # doctor now lists face-alignment as usable (it checks the files, loads nothing).
    doctor = runner.invoke(app, ["doctor", "--json"])
    backends = {b["name"]: b for b in json.loads(doctor.stdout)["face_backends"]}
    assert backends["face-alignment"]["usable"] == face_alignment_fan.face_alignment_installed()
    # A second run verifies what is there and downloads nothing.
    code, stdout, _ = fetch("--json")
    assert code == 0 and [f["status"] for f in json.loads(stdout)["files"]] == ["cached"] * 2


def test_a_corrupt_download_is_an_error_and_leaves_no_file(
    empty_torch_hub: Path, weights_table: dict[str, bytes], server: tuple[Path, object]
) -> None:
    root, _ = server
    for name, data in weights_table.items():
        (root / name).write_bytes(data[:-10] + b"tampered!!")
    code, _, stderr = fetch()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in stderr
    assert "corrupt" in lines[0] and "nothing was saved" in lines[0]
    assert not empty_torch_hub.exists() or not any(empty_torch_hub.iterdir())
    assert not face_alignment_weights_available()


def test_a_corrupt_cached_file_is_replaced(
    empty_torch_hub: Path, weights_table: dict[str, bytes], server: tuple[Path, object]
) -> None:
    root, _ = server
    for name, data in weights_table.items():
        (root / name).write_bytes(data)
    empty_torch_hub.mkdir(parents=True)
    first = face_alignment_weight_paths()[0]
    first.write_bytes(b"half a file")
    code, stdout, _ = fetch("--json")
    assert code == 0 and json.loads(stdout)["files"][0]["status"] == "downloaded"
    assert first.read_bytes() == weights_table[first.name]


def test_server_gone_is_a_one_line_error(
    empty_torch_hub: Path, weights_table: dict[str, bytes], server: tuple[Path, object]
) -> None:
    _, httpd = server
    httpd.shutdown()  # type: ignore[attr-defined]
    httpd.server_close()  # type: ignore[attr-defined]
    code, _, stderr = fetch()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in stderr
    assert "cannot download" in lines[0]
    assert not empty_torch_hub.exists() or not any(empty_torch_hub.iterdir())


def test_missing_file_on_the_server_and_unknown_model(
    empty_torch_hub: Path, weights_table: dict[str, bytes], server: tuple[Path, object]
) -> None:
    code, _, stderr = fetch()
    assert code == 1 and "HTTP 404" in stderr
    result = runner.invoke(app, ["models", "fetch", "stylegan"])
    assert result.exit_code == 2 and "can fetch: face-alignment" in result.stderr
