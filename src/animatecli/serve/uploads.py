"""Receiving a page's form: files streamed into a job's private folder, under a size limit.

Uploaded files are stored under names this module chooses (``upload-<field>``), never
under anything the client sent; the client's file name is kept only as text, to name the
file in messages. The size limit counts the bytes as they arrive, whatever the request
claims. A request that fails leaves partial files in the job folder, which the caller
removes with the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import Field, File, create_form_parser

from ..errors import InputError

MAX_FIELDS = 32
MAX_FIELD_BYTES = 4096


class UploadTooLarge(InputError):
    """The request body is over the server's ``--max-upload-mb``."""


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


def _limit_message(limit: int) -> str:
    return (
        f"the upload is larger than this server's limit of {limit / 2**20:g} MB "
        "(animate serve --max-upload-mb)"
    )


async def receive_form(
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    folder: Path,
    file_fields: frozenset[str],
    limit: int,
) -> ReceivedForm:
    """Parse a ``multipart/form-data`` body into ``folder``.

    Only the file fields named in ``file_fields`` are accepted. Raises `UploadTooLarge`
    past ``limit`` bytes and `InputError` for a malformed form.
    """
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(_limit_message(limit))
    content_type = headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InputError("the form must be sent as multipart/form-data")
    form = ReceivedForm()
    files: list[File] = []

    def on_field(item: Field) -> None:
        name = (item.field_name or b"").decode("utf-8", errors="replace")
        form.fields[name] = (item.value or b"").decode("utf-8", errors="replace")

    def on_file(item: File) -> None:
        files.append(item)

    config = {
        "UPLOAD_DIR": str(folder),
        "UPLOAD_KEEP_FILENAME": False,
        "UPLOAD_DELETE_TMP": False,
        "MAX_MEMORY_FILE_SIZE": 0,  # every byte goes straight to the job folder
        "MAX_FIELDS": MAX_FIELDS,
        "MAX_FIELD_SIZE": MAX_FIELD_BYTES,
    }
    try:
        parser = create_form_parser({"Content-Type": content_type}, on_field, on_file, config)
        received = 0
        async for chunk in body:
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(_limit_message(limit))
            parser.write(chunk)
        parser.finalize()
        for item in files:
            form.files.update(_store(item, folder, file_fields))
    except InputError:
        raise
    except Exception as exc:  # python-multipart's parse errors
        raise InputError(f"the form could not be read ({exc})") from exc
    finally:
        for item in files:
            with contextlib.suppress(OSError):
                item.close()
    return form


def _store(item: File, folder: Path, file_fields: frozenset[str]) -> dict[str, UploadedFile]:
    """Move one parsed file to its server-chosen name; empty file inputs are ignored."""
    name = (item.field_name or b"").decode("utf-8", errors="replace")
    if name not in file_fields:
        raise InputError(f"unexpected file field {name!r}")
    client_name = os.path.basename((item.file_name or b"").decode("utf-8", errors="replace"))
    if item.size == 0 and not client_name:
        return {}  # a file input left empty
    if item.in_memory:
        item.flush_to_disk()
    item.close()
    target = folder / f"upload-{name}"
    os.replace(os.fsdecode(item.actual_file_name), target)
    return {name: UploadedFile(target, client_name or name, item.size)}
