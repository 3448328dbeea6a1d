"""Receiving a page's form: files streamed into a job's private folder, under a size limit.

Uploaded files are stored under names this module chooses (``upload-<field>``), never
under anything the client sent; the client's file name is kept only as text, to name the
file in messages. The size limit counts the bytes as they arrive, whatever the request
claims. A request that fails leaves partial files in the job folder, closed, which the
caller removes with the folder (an open file would keep its disk space until the server
stops). Text fields are small and few; error messages repeat at most a short prefix of
anything the client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import InputError

# The page sends a dozen parts of a few bytes each: a form beyond these is not the page's.
MAX_PARTS = 32
MAX_FIELD_BYTES = 4096
# How much of a client's text an error message repeats.
SHOWN_CHARS = 40
# After a grace of ``idle_seconds``, an upload slower than this on average is stopped: a
# connection that trickles keeps a job folder and a socket busy for nothing.
MIN_BYTES_PER_SECOND = 16 * 1024


class UploadTooLarge(InputError):
    """The request body is over the server's ``--max-upload-mb``."""


class UploadTooSlow(InputError):
    """The request body stalled, or trickles in too slowly to finish in reasonable time."""


@dataclass
class UploadedFile:
    path: Path  # inside the job folder, named by the server
    name: str  # the client's file name, for messages only
    size: int


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        return [f.path for f in self.files.values()]


class Workspace:
    """The server's private temporary folder (mode 0700): one subfolder per job."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="animate-serve-"))

    def job_folder(self, job_id: str) -> Path:
        folder = self.root / job_id
        folder.mkdir(mode=0o700)
        return folder

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` for an error message: repr'd, and cut to its first ``limit`` characters, so
    a client's megabytes never come back in an answer."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} characters)"


def _limit_message(limit: int) -> str:
    return (
        f"the upload is larger than this server's limit of {limit / 2**20:g} MB "
        "(animate serve --max-upload-mb)"
    )


@dataclass
class _Part:
    """The part being received: its headers, then a text field's bytes or a file's handle."""

    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    client_name: str | None = None  # set for a file part
    text: bytearray = field(default_factory=bytearray)
    file: BinaryIO | None = None
    path: Path | None = None
    size: int = 0


class _FormReader:
    """python-multipart's low-level parser, driven with our own parts: a file part is written
    straight to its server-chosen name, a text part is kept under `MAX_FIELD_BYTES`, and
    the part in progress is always known, so a request that fails part-way closes it."""

    def __init__(self, boundary: bytes, folder: Path, file_fields: frozenset[str]):
        self.folder = folder
        self.file_fields = file_fields
        self.form = ReceivedForm()
        self.parts = 0
        self.part: _Part | None = None
        self._header_name = bytearray()
        self._header_value = bytearray()
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_part_data": self._data,
                "on_part_end": self._end,
                "on_header_field": lambda data, start, end: self._header_name.extend(
                    data[start:end]
                ),
                "on_header_value": lambda data, start, end: self._header_value.extend(
                    data[start:end]
                ),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
            },
        )

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InputError(f"the form has more than {MAX_PARTS} parts")
        self.part = _Part()

    def _header_end(self) -> None:
        assert self.part is not None
        name = bytes(self._header_name).lower()
        self.part.headers[name] = bytes(self._header_value).strip(b" \t")
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        part = self.part
        assert part is not None
        _, options = parse_options_header(part.headers.get(b"content-disposition"))
        if b"name" not in options:
            raise InputError("a form part has no name")
        part.name = options[b"name"].decode("utf-8", errors="replace")
        encoding = part.headers.get(b"content-transfer-encoding", b"binary").lower()
        if encoding not in (b"binary", b"8bit", b"7bit"):
            raise InputError(f"form part {shown(part.name)}: unsupported transfer encoding")
        if b"filename" not in options:
            return
        if part.name not in self.file_fields:
            raise InputError(f"unexpected file field {shown(part.name)}")
        if part.name in self.form.files:
            raise InputError(f"the form has two files named {shown(part.name)}")
        raw_name = options[b"filename"].decode("utf-8", errors="replace")
        part.client_name = os.path.basename(raw_name)
        part.path = self.folder / f"upload-{part.name}"
        part.file = open(part.path, "wb")  # noqa: SIM115 - closed by _end or close()

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        assert part is not None
        part.size += end - start
        if part.file is not None:
            part.file.write(data[start:end])
            return
        if part.size > MAX_FIELD_BYTES:
            raise InputError(
                f"form field {shown(part.name)} is longer than {MAX_FIELD_BYTES} bytes"
            )
        part.text.extend(data[start:end])

    def _end(self) -> None:
        part, self.part = self.part, None
        assert part is not None
        if part.file is None:
            self.form.fields[part.name] = part.text.decode("utf-8", errors="replace")
            return
        part.file.close()
        assert part.path is not None
        if part.size == 0 and not part.client_name:
            part.path.unlink()  # a file input left empty
            return
        self.form.files[part.name] = UploadedFile(
            part.path, part.client_name or part.name, part.size
        )

    def close(self) -> None:
        """Close the half-received file part, if any (its bytes go with the job folder)."""
        if self.part is not None and self.part.file is not None:
            with contextlib.suppress(OSError):
                self.part.file.close()
        self.part = None


async def receive_form(
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    folder: Path,
    file_fields: frozenset[str],
    limit: int,
    idle_seconds: float = 30.0,
) -> ReceivedForm:
    """Parse a ``multipart/form-data`` body into ``folder``.

    Only the file fields named in ``file_fields`` are accepted. Raises `UploadTooLarge`
    past ``limit`` bytes, `UploadTooSlow` when the body stops for ``idle_seconds`` or
    arrives slower on average than `MIN_BYTES_PER_SECOND` (after ``idle_seconds`` of
    grace), and `InputError` for a malformed form. Whatever happens, no file is left open.
    """
    declared = headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(_limit_message(limit))
    content_type, options = parse_options_header(headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise InputError("the form must be sent as multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise InputError("the form has no multipart boundary")
    try:
        reader = _FormReader(boundary, folder, file_fields)
    except Exception as exc:  # a boundary python-multipart refuses
        raise InputError("the form's multipart boundary is not valid") from exc
    chunks = aiter(body)
    started = time.monotonic()
    received = 0
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(anext(chunks), idle_seconds)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise UploadTooSlow(
                    f"the upload stopped for {idle_seconds:g} s; send it again"
                ) from None
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(_limit_message(limit))
            if time.monotonic() - started > idle_seconds + received / MIN_BYTES_PER_SECOND:
                raise UploadTooSlow(
                    f"the upload arrives slower than {MIN_BYTES_PER_SECOND // 1024} KB/s; "
                    "send it again over a faster connection"
                )
            reader.parser.write(chunk)
        reader.parser.finalize()
        if reader.part is not None or reader.parts == 0:
            raise InputError("the form ended in the middle of a part")
    except InputError:
        raise
    except Exception as exc:  # python-multipart's parse errors, a dropped connection
        raise InputError(f"the form could not be read ({type(exc).__name__})") from exc
    finally:
        reader.close()
    return reader.form
