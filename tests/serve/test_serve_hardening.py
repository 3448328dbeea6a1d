"""``animate serve`` against a hostile or careless client (issue 28, items 3-5, 7, 14, 20):
leaked upload files, foreign pages, oversized fields, slow connections, bad addresses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serve_testutil import URL_LINE, Client, ServerProcess, multipart

BOUNDARY = "----animatecli-test-boundary"


class TimedServer(ServerProcess):
    """The real server (`serve.server.run`) with a short upload deadline, which the command
    line does not offer: 1 s without a byte, or an average under 16 KB/s after 1 s."""

    def __init__(self, tmpdir: Path, idle_seconds: float = 1.0, max_upload_mb: float = 1.0):
        launcher = (
            "from animatecli.serve.server import run;"
            "from animatecli.serve.settings import ServeSettings;"
            f"run(ServeSettings(port=0, upload_idle_seconds={idle_seconds}, "
            f"max_upload_mb={max_upload_mb}))"
        )
        super().__init__(tmpdir, python_args=("-c", launcher))


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimedServer]:
    process = TimedServer(tmp_path_factory.mktemp("timed"))
    yield process
    process.close()


def held_upload_files(server: ServerProcess) -> tuple[int, int]:
    """(count, bytes) of the files under the server's temporary folder that the server
    process holds open, deleted ones included: what a leak keeps on the disk."""
    count = size = 0
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
            if target.startswith(str(server.tmpdir)):
                count += 1
                size += os.stat(fd).st_size
        except OSError:  # closed meanwhile
            continue
    return count, size


def socket_count(server: ServerProcess) -> int:
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(condition())  # type: ignore[operator]


def open_upload(server: ServerProcess, declared: int, first_bytes: int) -> socket.socket:
    """A POST whose body declares ``declared`` bytes and sends the form's opening and
    ``first_bytes`` of a file part, then nothing more."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="driving"; '
        'filename="d.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    client = Client(server.url)
    sock = socket.create_connection((client.host, client.port), timeout=30)
    sock.sendall(
        (
            f"POST /api/jobs HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        + head
        + b"x" * first_bytes
    )
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails after 10 s)."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("small"), "--max-upload-mb", "1")
    yield process
    process.close()


def test_refused_and_dropped_uploads_leave_no_open_file(small: ServerProcess) -> None:
    """Item 3: a 413 part-way, a dropped connection: the half-received part is closed."""
    timed = small
    big = b"x" * (3 * 2**20)  # over the 1 MB limit, sent without a Content-Length
    status, answer = Client(timed.url).submit(
        {"kind": "animate"}, {"driving": ("d.mp4", big)}, chunked=True
    )
    assert status == 413, answer
    for _ in range(3):  # dropped: the client goes away in the middle of the file
        sock = open_upload(timed, declared=900_000, first_bytes=300_000)
        time.sleep(0.2)
        sock.close()
    assert wait_for(lambda: held_upload_files(timed) == (0, 0), 5), held_upload_files(timed)
    assert not [p for f in timed.private_folders() for p in f.iterdir()]


def test_slow_connections_are_closed_and_leave_nothing(timed: TimedServer) -> None:
    """Items 3 and 7: stalled uploads are answered 408 and closed; a request head that
    never ends is closed too, and no file stays open afterwards."""
    before = socket_count(timed)
    stalled = [open_upload(timed, declared=900_000, first_bytes=10_000) for _ in range(20)]
    client = Client(timed.url)
    head_only = socket.create_connection((client.host, client.port), timeout=30)
    head_only.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    for sock in stalled:
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"the upload stopped for 1 s" in answer
        sock.close()
    assert read_until_closed(head_only) == b""  # closed without an answer
    head_only.close()
    assert wait_for(lambda: held_upload_files(timed) == (0, 0), 5), held_upload_files(timed)
    assert wait_for(lambda: socket_count(timed) <= before, 5)


def test_a_trickling_upload_is_stopped(timed: TimedServer) -> None:
    """Item 7: a byte now and then keeps no upload alive: the average rate counts."""
    sock = open_upload(timed, declared=900_000, first_bytes=100)
    deadline = time.monotonic() + 10
    answer = b""
    sock.settimeout(0.3)
    while time.monotonic() < deadline and not answer:
        try:
            sock.sendall(b"x" * 100)
            answer = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
    answer += read_until_closed(sock) if answer else b""
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"slower than 16 KB/s" in answer


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "http://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Origin": "http://127.0.0.1:1"}, True),  # another port is another origin
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),
        ({}, False),  # curl, a script: no browser page involved
        ({"Sec-Fetch-Site": "same-origin"}, False),
    ],
)
def test_state_changing_requests_from_other_pages_are_refused(
    server: ServerProcess, headers: dict[str, str], refused: bool
) -> None:
    """Item 4: a foreign page may not submit or cancel jobs (403); the page itself may."""
    client = Client(server.url)
    body, content_type = multipart({"kind": "no-such-kind"}, {})
    status, answer = client.request(
        "POST", "/api/jobs", body, {"Content-Type": content_type, **headers}
    )
    if refused:
        assert status == 403
        assert b"may not use this server" in answer
    else:  # the request reached the form: its kind is what is wrong
        assert (status, answer) == (400, b'{"error":"unknown job kind \'no-such-kind\'"}')
    status, _ = client.request("DELETE", "/api/jobs/some-job", headers=headers)
    assert status == (403 if refused else 204)


def test_the_page_own_origin_is_accepted(server: ServerProcess) -> None:
    client = Client(server.url)
    own = f"http://{client.host}:{client.port}"
    body, content_type = multipart({"kind": "x"}, {})
    status, _ = client.request(
        "POST", "/api/jobs", body, {"Content-Type": content_type, "Origin": own}
    )
    assert status == 400


def test_text_fields_are_bounded_and_never_echoed(server: ServerProcess) -> None:
    """Item 5: a huge field, a huge field name, ten thousand parts: refused with a short
    message that repeats at most a prefix of what was sent."""
    client = Client(server.url)
    huge = "k" * (20 * 2**20)
    status, answer = client.submit({"kind": huge})
    assert status == 400
    assert answer == {"error": "form field 'kind' is longer than 4096 bytes"}
    status, answer = client.submit({"kind": "q" * 3000})  # under the bound: shown cut
    assert status == 400
    assert len(answer["error"]) <= 300 and "qqqq" in answer["error"]
    status, answer = client.submit({"n" * 100_000: "1"})
    assert status == 400 and len(answer["error"]) <= 300
    many = {f"field{i}": "1" for i in range(10_000)}
    status, answer = client.submit(many)
    assert (status, answer) == (400, {"error": "the form has more than 32 parts"})
    status, answer = client.submit({"kind": "animate"}, {"v" * 3000: ("x.png", b"x")})
    assert status == 400
    assert answer["error"].startswith("unexpected file field 'vvvv")
    assert len(answer["error"]) < 120


def test_a_bad_host_name_is_a_one_line_error(tmp_path: Path) -> None:
    """Item 14: a name the IDNA codec refuses is an input error, not a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "animatecli", "serve", "--host", "bad..name", "--port", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --host 'bad..name' is not a valid host name or address"
    assert not list(tmp_path.iterdir())


def test_listening_on_every_address_prints_an_address_a_browser_can_open(
    tmp_path: Path,
) -> None:
    """Item 20: 0.0.0.0 is not something to open; the loopback address is, and the
    machine's name is given for the others."""
    server = ServerProcess(tmp_path, "--host", "0.0.0.0")
    try:
        assert server.url.startswith("http://127.0.0.1:")
        port = server.url.rsplit(":", 1)[1]
        assert f"from other machines: http://{socket.gethostname()}:{port}/" in server.lines
        assert Client(server.url).request("GET", "/api/config")[0] == 200
        assert all(len(line) < 200 for line in server.lines)
        assert [line for line in server.lines if URL_LINE.search(line)]
    finally:
        assert server.interrupt() == 0


def test_an_uploaded_image_bomb_fails_its_job_with_one_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Item 6, upload half: the photo goes through the same decode budget as the CLI's."""
    from tests.cli.test_hardening_media import deep_png

    bomb = tmp_path / "bomb.png"
    deep_png(bomb, 12000, 12000)
    client = Client(server.url)
    fields = {"kind": "animate", "driving_example": "driving.mp4"}
    status, answer = client.submit(fields, {"source": ("bomb.png", bomb.read_bytes())})
    assert status == 201, answer
    stream = client.follow(answer["id"])
    try:
        done = stream.until(lambda s: s["state"] in ("done", "failed"))
    finally:
        stream.close()
    assert done["state"] == "failed"
    assert "bomb.png is too large to load safely: 12000×12000 pixels" in done["error"]
    assert "\n" not in done["error"]
