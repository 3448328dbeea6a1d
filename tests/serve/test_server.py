"""``animate serve`` over HTTP: limits, the queue, abandoned jobs, client paths, Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testutil import Samples

from .serve_testutil import EXAMPLES, Client, ServerProcess, example_fields


def job_folders(server: ServerProcess) -> list[Path]:
    return [p for folder in server.private_folders() for p in folder.iterdir()]


def wait_until_no_job_folders(server: ServerProcess, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while job_folders(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not job_folders(server)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    """A server whose limits the examples exceed: 0.2 MB per job, videos up to 2 s."""
    process = ServerProcess(
        tmp_path_factory.mktemp("limited"), "--max-upload-mb", "0.2", "--max-video-seconds", "2"
    )
    yield process
    process.close()


LIMIT_MESSAGE = (
    "the upload is larger than this server's limit of 0.2 MB (animate serve --max-upload-mb)"
)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    limited: ServerProcess, chunked: bool
) -> None:
    files = {
        "source": ("source.png", (EXAMPLES / "source.png").read_bytes()),
        "driving": ("driving.mp4", (EXAMPLES / "driving.mp4").read_bytes()),
    }
    status, answer = Client(limited.url).submit({"kind": "animate"}, files, chunked=chunked)
    # Refused before the body is read, the server may close before the client is done.
    assert (status, answer) in ((413, {"error": LIMIT_MESSAGE}), (0, {}))
    assert status == 413 or not chunked
    wait_until_no_job_folders(limited, 2)


def test_a_video_over_the_length_limit_is_refused(limited: ServerProcess) -> None:
    status, answer = Client(limited.url).submit(example_fields())
    assert status == 400
    assert answer["error"] == (
        "driving.mp4 lasts 5.0 s; this server takes videos up to 2 s "
        "(animate serve --max-video-seconds)"
    )
    assert not job_folders(limited)


def test_client_names_never_reach_the_file_system(server: ServerProcess) -> None:
    client = Client(server.url)
    status, answer = client.submit(example_fields(source_example="../pyproject.toml"))
    assert (status, answer) == (400, {"error": "no bundled example named '../pyproject.toml'"})
    status, answer = client.submit(example_fields(checkpoint="/etc/passwd"))
    assert (status, answer) == (400, {"error": "no checkpoint named '/etc/passwd' on this server"})
    status, answer = client.submit(example_fields(), {"../../escape": ("x.png", b"x")})
    assert (status, answer) == (400, {"error": "unexpected file field '../../escape'"})
    for path in (
        "/api/examples/..%2Fpyproject.toml",
        "/api/examples/../pyproject.toml",
        "/static/../../options.py",
        "/static/..%2F..%2Foptions.py",
        "/api/jobs/nojob/files/..%2F..%2Fetc%2Fpasswd",
    ):
        status, _ = client.request("GET", path)
        assert status == 404, path
    # A file name with folders in it is only a name: the upload is stored under the
    # server's own name and the message calls it by the client's base name.
    files = {"source": ("../../outside.png", b"not a picture")}
    status, answer = client.submit(example_fields(source_example=""), files)
    assert status == 201
    stream = client.follow(answer["id"])
    final = stream.until(lambda s: s["state"] in ("done", "failed"))
    stream.close()
    assert final["error"] == "outside.png is not a readable image file"
    assert not list(server.tmpdir.rglob("outside.png"))
    assert not (server.tmpdir.parent / "outside.png").exists()


def test_requests_for_other_host_names_are_refused(server: ServerProcess) -> None:
    """DNS rebinding: a web site whose name resolves to 127.0.0.1 gets nothing."""
    status, _ = Client(server.url).request("GET", "/api/config", headers={"Host": "evil.test"})
    assert status == 400
    status, _ = Client(server.url).request("GET", "/api/config")
    assert status == 200


def test_one_job_at_a_time_and_a_page_that_leaves_cancels_its_job(
    server: ServerProcess, samples: Samples
) -> None:
    client = Client(server.url)
    first = client.follow(client.submit(example_fields())[1]["id"])
    running = first.until(lambda s: s["state"] == "running")
    assert running["position"] is None
    uploads = {
        "source": ("photo.png", (EXAMPLES / "source.png").read_bytes()),
        "driving": ("speech.mov", samples.v30_audio.read_bytes()),  # 1 s at 30 fps, AAC
    }
    fields = {"kind": "animate", "layout": "compare", "format": "webm"}
    status, answer = client.submit(fields, uploads)
    assert status == 201
    second = client.follow(answer["id"])
    waiting = second.next_status()
    assert waiting["state"] == "queued"
    assert waiting["position"] == 1
    assert waiting["queue"] == {"waiting": 1, "running": 1}

    first.close()  # the first page goes away in the middle of its job
    started = second.until(lambda s: s["state"] == "running")
    assert started["queue"]["waiting"] == 0
    done = second.until(lambda s: s["state"] in ("done", "failed"))
    assert done["state"] == "done", done["error"]
    assert done["outputs"][0]["label"].startswith("30 frames at 30.00 fps, 384×128, with sound")
    assert done["outputs"][0]["download"] == "photo__speech.webm"
    status, data = client.request("GET", done["outputs"][0]["url"])
    assert status == 200 and data[:4] == b"\x1a\x45\xdf\xa3"  # Matroska/WebM
    # While its page is open the result stays; only it remains in the private folder.
    folders = job_folders(server)
    assert [f.name for f in folders] == [answer["id"]]
    assert [p.name for p in folders[0].iterdir()] == ["result.webm"]  # the upload is gone
    second.close()
    wait_until_no_job_folders(server)


def test_ctrl_c_during_a_job_stops_cleanly(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    client = Client(server.url)
    files = {"source": ("photo.png", (EXAMPLES / "source.png").read_bytes())}
    status, answer = client.submit(example_fields(source_example=""), files)
    assert status == 201
    stream = client.follow(answer["id"])
    stream.until(lambda s: s["progress"]["stage"] == "animating" and s["progress"]["done"] > 0)
    assert server.private_folders()
    code = server.interrupt()
    assert code == 0, server.lines
    assert server.lines[-1] == "stopped; temporary files removed"
    assert not [line for line in server.lines if "Traceback" in line]
    assert not list(tmp_path.iterdir())


def serve_error(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Exit code and stderr of an ``animate serve`` that cannot start."""
    proc = subprocess.run(
        [sys.executable, "-m", "animatecli", "serve", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=60,
    )
    assert not list(tmp_path.iterdir())  # no private folder was left
    return proc.returncode, proc.stderr.strip()


def test_a_port_in_use_is_a_one_line_error(server: ServerProcess, tmp_path: Path) -> None:
    port = server.url.rsplit(":", 1)[1]
    code, stderr = serve_error(tmp_path, "--port", port)
    assert code == 2
    assert stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert len(stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "tpu"], "error: unknown device 'tpu' (use auto, cpu, cuda or cuda:N)"),
        (["--max-upload-mb", "0"], "error: --max-upload-mb must be a positive number, got 0.0"),
        (["--port", "70000"], "error: --port must be in 0..65535, got 70000"),
    ],
)
def test_bad_settings_are_one_line_errors_at_start(
    tmp_path: Path, args: list[str], message: str
) -> None:
    assert serve_error(tmp_path, "--port", "0", *args) == (2, message)


def test_listening_beyond_this_machine_warns(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "--host", "0.0.0.0")
    try:
        assert server.lines[0].startswith("warning: listening on 0.0.0.0, not only this machine")
    finally:
        assert server.interrupt() == 0


def test_without_the_web_extra_serve_says_how_to_install_it(tmp_path: Path) -> None:
    blocked = (
        "import sys; sys.modules['starlette'] = None; sys.argv = ['animate', 'serve'];"
        "from animatecli.cli import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: animate serve needs the web extra (starlette is missing): "
        "pip install 'animatecli[web]'"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("align", ["²", "٣", "9" * 30])
def test_a_frame_index_int_cannot_read_is_a_form_error(server: ServerProcess, align: str) -> None:
    """Issue 28 item 11: the page answers what the CLI says, not "unexpected ValueError"."""
    status, answer = Client(server.url).submit(example_fields(align=align))
    assert status == 400, answer
    assert answer["error"].startswith("align ")
    assert (
        "use best, first or a frame index" in answer["error"] or "out of range" in answer["error"]
    )
    assert "unexpected" not in answer["error"]
