"""Receiving the page's form (animatecli.serve.uploads), without a server: files streamed
under names the server chooses, the limits counted on the bytes that arrive, and no file
left open whatever goes wrong."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from animatecli.errors import InputError
from animatecli.serve.uploads import (
    MAX_FIELD_BYTES,
    MAX_PARTS,
    SHOWN_CHARS,
    ReceivedForm,
    UploadTooLarge,
    UploadTooSlow,
    Workspace,
    receive_form,
    shown,
)

from .serve_testutil import multipart

FILE_FIELDS = frozenset({"source", "driving"})
PHOTO = bytes(range(256)) * 40  # 10 KiB with every byte value, CR and LF included


async def pieces(body: bytes, size: int, pause: float = 0.0) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        if pause:
            await asyncio.sleep(pause)
        yield body[start : start + size]


def receive(
    folder: Path,
    body: bytes,
    content_type: str,
    *,
    limit: int = 2**20,
    size: int = 1000,
    pause: float = 0.0,
    idle_seconds: float = 30.0,
) -> ReceivedForm:
    headers = {"content-type": content_type}
    return asyncio.run(
        receive_form(headers, pieces(body, size, pause), folder, FILE_FIELDS, limit, idle_seconds)
    )


def open_files_under(folder: Path) -> list[str]:
    """The files this process holds open under ``folder``."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return [link for link in links if link.startswith(str(folder))]


def test_fields_and_files_arrive_under_names_the_server_chooses(tmp_path: Path) -> None:
    body, kind = multipart(
        {"kind": "animate", "fit": "pad"},
        {"source": ("../../etc/me.png", PHOTO), "driving": ("", b"")},  # driving left empty
    )
    form = receive(tmp_path, body, kind, size=333)  # parts split at awkward places
    assert form.fields == {"kind": "animate", "fit": "pad"}
    assert list(form.files) == ["source"]
    upload = form.files["source"]
    assert upload.path == tmp_path / "upload-source" and upload.path.read_bytes() == PHOTO
    assert (upload.name, upload.size) == ("me.png", len(PHOTO))  # the client's name, as text
    assert form.paths() == [upload.path]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload-source"]


def test_the_limit_counts_what_arrives_and_what_is_declared(tmp_path: Path) -> None:
    body, kind = multipart({}, {"source": ("me.png", PHOTO)})
    with pytest.raises(UploadTooLarge, match=r"larger than this server's limit of 0\.0078125 MB"):
        receive(tmp_path, body, kind, limit=8 * 2**10)
    assert open_files_under(tmp_path) == []
    read: list[bytes] = []

    async def watched() -> AsyncIterator[bytes]:
        read.append(body)
        yield body

    claimed = {"content-type": kind, "content-length": str(len(body))}
    with pytest.raises(UploadTooLarge):
        asyncio.run(receive_form(claimed, watched(), tmp_path, FILE_FIELDS, len(body) - 1))
    assert read == []  # refused on the declared length, before reading anything


@pytest.mark.parametrize(
    ("fields", "files", "message"),
    [
        ({}, {"avatar": ("a.png", b"x")}, "unexpected file field 'avatar'"),
        ({"notes": "x" * (MAX_FIELD_BYTES + 1)}, {}, f"longer than {MAX_FIELD_BYTES} bytes"),
        ({f"f{i}": "1" for i in range(MAX_PARTS + 1)}, {}, f"more than {MAX_PARTS} parts"),
    ],
)
def test_forms_that_are_not_the_pages_are_refused(
    tmp_path: Path, fields: dict[str, str], files: dict[str, tuple[str, bytes]], message: str
) -> None:
    body, kind = multipart(fields, files)
    with pytest.raises(InputError, match=message):
        receive(tmp_path, body, kind)


def test_two_files_for_one_field_are_refused_and_closed(tmp_path: Path) -> None:
    one, kind = multipart({}, {"source": ("a.png", PHOTO)})
    boundary = kind.split("boundary=")[1].encode()
    two = one.replace(b"--" + boundary + b"--\r\n", b"") + one
    with pytest.raises(InputError, match="two files named 'source'"):
        receive(tmp_path, two, kind)
    assert open_files_under(tmp_path) == []


def test_a_form_cut_short_is_refused_and_its_file_closed(tmp_path: Path) -> None:
    body, kind = multipart({}, {"source": ("me.png", PHOTO)})
    with pytest.raises(InputError, match="ended in the middle of a part"):
        receive(tmp_path, body[: len(body) // 2], kind)
    assert open_files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/x-www-form-urlencoded", "must be sent as multipart/form-data"),
        ("multipart/form-data", "has no multipart boundary"),
    ],
)
def test_a_body_that_is_not_multipart(tmp_path: Path, content_type: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        receive(tmp_path, b"kind=animate", content_type)


def test_a_stalled_upload_is_stopped(tmp_path: Path) -> None:
    body, kind = multipart({}, {"source": ("me.png", PHOTO)})
    with pytest.raises(UploadTooSlow, match=r"the upload stopped for 0\.2 s"):
        receive(tmp_path, body, kind, size=4096, pause=1.0, idle_seconds=0.2)
    assert open_files_under(tmp_path) == []


def test_what_an_error_repeats_of_the_clients_text_is_short() -> None:
    assert shown("fit") == "'fit'"
    long = "x" * 1000
    assert shown(long) == f"{'x' * SHOWN_CHARS!r}… (1000 characters)"


def test_the_workspace_is_private_and_removed_whole() -> None:
    workspace = Workspace()
    try:
        folder = workspace.job_folder("job1")
        (folder / "upload-source").write_bytes(b"x")
        assert stat.S_IMODE(workspace.root.stat().st_mode) == 0o700
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
        with pytest.raises(FileExistsError):
            workspace.job_folder("job1")  # one folder per job, never shared
    finally:
        workspace.remove()
    assert not workspace.root.exists()
