"""Reading a checkpoint's tensors selectively: only the networks inference needs.

The released checkpoints carry their training state: FOMM's ``vox-cpk.pth.tar`` is
729 MB, of which the generator and keypoint detector are about 230 MB; the rest is the
discriminator and the optimizers' Adam moments. ``torch.load`` materialises all of it.
Here the file's pickle is read first with every storage standing in as a *meta* storage
(no data), through torch's weights-only unpickler (the same refusal of anything but
tensors and plain containers); then only the tensors of the chosen entries are read,
each storage straight from its place in the file into its final memory, and the others
are never read at all.

Both of torch's formats: the zip archive (torch ≥ 1.6; its records are stored, so a
storage is a contiguous byte range of the file) and the legacy one (the official FOMM
files, written by torch 1.0: a sequence of pickles followed by the storages, each an
8-byte element count and its bytes, in the order of a pickled key list). Old tar-based
files are not supported (torch itself dropped writing them with 0.4).

Pure torch plus the standard library; reads the weight file and nothing else.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import _weights_only_unpickler as weights_only

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip entry's local file header
_READ_CHUNK = 8 << 20  # bytes per read into a storage (bounded transient buffers)


class UnreadableCheckpoint(Exception):
    """The file is not a torch checkpoint this reader can read safely."""


@dataclass(frozen=True)
class _StorageRecord:
    """Where a storage's bytes lie in the file, and how many there are."""

    offset: int
    nbytes: int


class LazyCheckpoint:
    """A checkpoint's container with meta tensors standing in for its storages.

    ``container`` is the unpickled top-level object (dicts, lists, numbers, strings and
    meta tensors); :meth:`materialise` turns the tensors of a sub-tree into real CPU
    tensors, reading only their storages.
    """

    def __init__(
        self,
        path: Path,
        container: Any,
        records: Mapping[int, _StorageRecord],
    ) -> None:
        self.path = path
        self.container = container
        self._records = records  # meta storage's _cdata → its bytes in the file
        self._read: dict[int, torch.UntypedStorage] = {}

    def _storage(self, handle: BinaryIO, meta: torch.UntypedStorage) -> torch.UntypedStorage:
        key = meta._cdata
        storage = self._read.get(key)
        if storage is None:
            record = self._records[key]
            storage = torch.UntypedStorage(record.nbytes)
            if record.nbytes:
                buffer = torch.empty(0, dtype=torch.uint8).set_(storage)
                view = memoryview(buffer.numpy()).cast("B")
                handle.seek(record.offset)
                done = 0
                while done < record.nbytes:
                    got = handle.readinto(view[done : min(done + _READ_CHUNK, record.nbytes)])
                    if not got:
                        raise UnreadableCheckpoint("the file ends inside a tensor")
                    done += got
            self._read[key] = storage
        return storage

    def materialise(self, tree: Any) -> Any:
        """``tree`` with every meta tensor replaced by the real tensor read from the file
        (tensors sharing a storage in the file share it here too)."""
        with self.path.open("rb", buffering=0) as handle:

            def real(value: Any) -> Any:
                if isinstance(value, torch.Tensor):
                    storage = self._storage(handle, value.untyped_storage())
                    tensor = torch.empty(0, dtype=value.dtype)
                    return tensor.set_(storage, value.storage_offset(), value.shape, value.stride())
                if isinstance(value, Mapping):
                    return type(value)((k, real(v)) for k, v in value.items())
                if isinstance(value, list | tuple):
                    return type(value)(real(v) for v in value)
                return value

            return real(tree)


def _unpickle(
    data: BinaryIO, persistent_load: Callable[[Any], Any], *, encoding: str = "utf-8"
) -> Any:
    unpickler = weights_only.Unpickler(data, encoding=encoding)
    unpickler.persistent_load = persistent_load  # type: ignore[method-assign]
    with warnings.catch_warnings():
        # It warns about the pickle protocol of files it may then refuse; we say why.
        warnings.simplefilter("ignore", UserWarning)
        return unpickler.load()


def _decode(value: Any) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _meta_storage(storage_type: Any, numel: int) -> tuple[torch.storage.TypedStorage, int]:
    dtype = torch.uint8 if storage_type is torch.UntypedStorage else storage_type.dtype
    nbytes = numel * torch._utils._element_size(dtype)
    meta = torch.UntypedStorage(nbytes, device="meta")
    return torch.storage.TypedStorage(wrap_storage=meta, dtype=dtype, _internal=True), nbytes


def _read_zip(path: Path, handle: BinaryIO) -> LazyCheckpoint:
    with zipfile.ZipFile(handle) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise UnreadableCheckpoint("a zip archive that is not a torch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        infos = {info.filename: info for info in archive.infolist()}
        records: dict[int, _StorageRecord] = {}
        by_key: dict[str, torch.storage.TypedStorage] = {}

        def persistent_load(saved_id: Any) -> Any:
            if not isinstance(saved_id, tuple) or _decode(saved_id[0]) != "storage":
                raise UnreadableCheckpoint("an unknown persistent record")
            storage_type, key, _location, numel = saved_id[1:]
            key = _decode(key)
            if key not in by_key:
                typed, nbytes = _meta_storage(storage_type, int(numel))
                info = infos.get(f"{prefix}data/{key}")
                if info is None or info.compress_type != zipfile.ZIP_STORED:
                    raise UnreadableCheckpoint(f"storage {key} is missing or compressed")
                if info.file_size != nbytes:
                    raise UnreadableCheckpoint(f"storage {key} has the wrong size")
                handle.seek(info.header_offset)
                header = _ZIP_LOCAL_HEADER.unpack(handle.read(_ZIP_LOCAL_HEADER.size))
                name_length, extra_length = header[-2], header[-1]
                start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length
                records[typed._untyped_storage._cdata] = _StorageRecord(start, nbytes)
                by_key[key] = typed
            return by_key[key]

        with archive.open(pickles[0]) as pickled:
            container = _unpickle(io.BytesIO(pickled.read()), persistent_load)
    return LazyCheckpoint(path, container, records)


def _read_legacy(path: Path, handle: BinaryIO) -> LazyCheckpoint:
    def no_storage(saved_id: Any) -> Any:
        raise UnreadableCheckpoint("a storage where none belongs")

    if _unpickle(handle, no_storage) != _LEGACY_MAGIC:
        raise UnreadableCheckpoint("not a torch checkpoint (wrong magic number)")
    if _unpickle(handle, no_storage) != _LEGACY_PROTOCOL:
        raise UnreadableCheckpoint("an unsupported legacy torch protocol")
    _unpickle(handle, no_storage)  # sys_info: byte order and type sizes (little-endian)
    roots: dict[str, tuple[torch.storage.TypedStorage, int]] = {}
    views: dict[str, torch.storage.TypedStorage] = {}
    view_offsets: dict[int, tuple[str, int]] = {}  # view's _cdata → (root key, byte offset)

    def persistent_load(saved_id: Any) -> Any:
        if not isinstance(saved_id, tuple) or _decode(saved_id[0]) != "storage":
            raise UnreadableCheckpoint("an unknown persistent record")
        storage_type, root_key, _location, numel, view_metadata = saved_id[1:]
        root_key = _decode(root_key)
        if root_key not in roots:
            roots[root_key] = _meta_storage(storage_type, int(numel))
        root, _ = roots[root_key]
        if view_metadata is None:
            return root
        view_key, offset, view_size = view_metadata
        view_key = _decode(view_key)
        if view_key not in views:
            element = root.dtype.itemsize
            view, _ = _meta_storage(storage_type, int(view_size))
            views[view_key] = view
            view_offsets[view._untyped_storage._cdata] = (root_key, int(offset) * element)
        return views[view_key]

    container = _unpickle(handle, persistent_load)
    keys = [_decode(k) for k in _unpickle(handle, no_storage)]
    offsets: dict[str, int] = {}
    position = handle.tell()
    size = os.fstat(handle.fileno()).st_size
    for key in keys:
        if key not in roots:
            raise UnreadableCheckpoint(f"storage {key} is listed but never used")
        typed, nbytes = roots[key]
        handle.seek(position)
        header = handle.read(8)
        if len(header) != 8:
            raise UnreadableCheckpoint("the file ends before its tensors")
        (count,) = struct.unpack("<q", header)
        if count * typed.dtype.itemsize != nbytes:
            raise UnreadableCheckpoint(f"storage {key} has the wrong size")
        offsets[key] = position + 8
        position += 8 + nbytes
        if position > size:
            raise UnreadableCheckpoint("the file ends inside a tensor")
    records = {
        typed._untyped_storage._cdata: _StorageRecord(offsets[key], nbytes)
        for key, (typed, nbytes) in roots.items()
        if key in offsets
    }
    for view in views.values():
        root_key, start = view_offsets[view._untyped_storage._cdata]
        records[view._untyped_storage._cdata] = _StorageRecord(
            offsets[root_key] + start, view._untyped_storage.nbytes()
        )
    return LazyCheckpoint(path, container, records)


def read_lazily(path: str | os.PathLike[str]) -> LazyCheckpoint:
    """The container of the torch file at ``path`` with meta tensors (nothing of the
    tensors' data read yet). Raises :class:`UnreadableCheckpoint` (or the weights-only
    unpickler's error, for a pickle that would construct anything but tensors and plain
    containers) when the file cannot be read safely."""
    path = Path(path)
    with path.open("rb") as handle:
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            return _read_zip(path, handle)
        handle.seek(0)
        return _read_legacy(path, handle)


def load_selected(path: str | os.PathLike[str], entries: Iterable[str]) -> dict[str, Any]:
    """The top-level dict of the checkpoint at ``path`` with real tensors in ``entries``
    and every other entry's tensors left as meta tensors (never read)."""
    lazy = read_lazily(path)
    if not isinstance(lazy.container, Mapping):
        raise UnreadableCheckpoint("not a dict of state dicts")
    wanted = set(entries)
    return {
        key: lazy.materialise(value) if key in wanted else value
        for key, value in lazy.container.items()
    }
