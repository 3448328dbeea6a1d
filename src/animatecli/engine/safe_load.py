"""Say what a file is when it cannot be loaded as a checkpoint.

``torch.load(weights_only=True)`` refuses anything it cannot prove harmless, but its
errors do not tell a random file from a failed download or from a pickle that would run
code. This module looks at the bytes (never unpickling them) and names the case, so the
user knows whether to download again or to distrust the file.
"""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path

_PICKLE_PROTO = 0x80  # first byte of a pickle of protocol 2 or later
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096
_MAX_PICKLE_BYTES = 64 * 1024 * 1024  # the pickle part of a checkpoint is small
_LEGACY_PICKLES = 4  # magic number, protocol version, system information, the object

# Globals a tensor checkpoint legitimately imports; anything else is what makes
# unpickling run code.
_SAFE_MODULE_ROOTS = ("torch", "collections", "numpy", "_codecs")


def _imported_globals(data: bytes) -> list[str]:
    """``module.name`` of every global a pickle imports, read from its opcodes."""
    found: list[str] = []
    strings: list[str] = []
    memo: dict[int, str] = {}
    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif name in ("BINPUT", "LONG_BINPUT", "PUT") and strings:
                memo[int(arg)] = strings[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET") and int(arg) in memo:
                strings.append(memo[int(arg)])
            elif name == "MEMOIZE" and strings:
                memo[len(memo)] = strings[-1]
            elif name == "GLOBAL":
                found.append(str(arg).replace(" ", "."))
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            elif name == "STOP":
                break
    except (ValueError, IndexError):
        pass  # a truncated pickle: what was read so far still tells
    return found


def _pickle_end(data: bytes) -> int | None:
    """Where the first pickle in ``data`` ends (after its STOP), None if it does not."""
    try:
        for opcode, _, position in pickletools.genops(data):
            if opcode.name == "STOP":
                return None if position is None else position + 1
    except (ValueError, IndexError):
        pass
    return None


def _unsafe_global(data: bytes) -> str | None:
    # A legacy torch file is several pickles in a row (magic number, protocol, system
    # information, then the object): look into the first few.
    for _ in range(_LEGACY_PICKLES):
        for qualified in _imported_globals(data):
            if qualified.split(".", 1)[0] not in _SAFE_MODULE_ROOTS:
                return qualified
        end = _pickle_end(data)
        if end is None or end >= len(data):
            return None
        data = data[end:]
    return None


def _describe_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if not pickles:
                return "a zip archive, not a PyTorch checkpoint"
            data = archive.read(pickles[0])[:_MAX_PICKLE_BYTES]
    except (zipfile.BadZipFile, OSError, EOFError):
        return "a damaged or truncated PyTorch checkpoint (download it again)"
    unsafe = _unsafe_global(data)
    if unsafe:
        return f"a pickle that imports {unsafe}, which could run code: refused"
    return "a PyTorch file holding objects other than tensors: refused"


def describe_unloadable(path: str | Path) -> str:
    """What the file at ``path`` is, in a few words, for a file ``torch.load`` rejected.

    E.g. "not a PyTorch checkpoint (it is text)", "an HTML page, probably a failed
    download", "a pickle that imports posix.system, which could run code: refused".
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not head:
        return "an empty file"
    if head.startswith(_ZIP_MAGIC):
        return _describe_zip(path)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
        return "an HTML page, probably a failed download"
    if head.startswith(_GZIP_MAGIC):
        return "gzip-compressed; unpack it first"
    if head[0] == _PICKLE_PROTO:
        data = path.read_bytes()[:_MAX_PICKLE_BYTES]
        unsafe = _unsafe_global(data)
        if unsafe:
            return f"a pickle that imports {unsafe}, which could run code: refused"
        return "a truncated or damaged PyTorch checkpoint (download it again)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut by the sniff window
            return "not a PyTorch checkpoint"
    return "not a PyTorch checkpoint (it is a text file)"
