"""Handing memory the process has freed back to the system: between a job's stages, and
frame after frame.

glibc keeps freed blocks in its heaps for reuse, and a heap shrinks only from its top:
a model freed in the middle (dlib's 66 MiB landmark predictor, allocated in thousands of
small pieces) stays in the process's RSS for the rest of the job. ``malloc_trim``
returns every free page. Other C libraries have no such call and need none here.

Blocks above glibc's mmap threshold (128 KiB at start) get their own mapping and go back
to the system when freed. But glibc raises that threshold to the size of each such block
freed (up to 32 MiB), so after the first frame a frame's multi-MiB activations come from
the heaps instead, where they fragment and stay: a vox-256 job's RSS crept up by 60 MiB
over its frames, and its peak was 712 MiB (60 frames). With the threshold fixed the peak
is 640 MiB, at the same speed (make bench's memory rows; docs/performance.md).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

# mallopt's parameter number for the mmap threshold (glibc's malloc.h), and the value:
# glibc's own starting threshold, kept.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        return getattr(ctypes.CDLL(None), name)  # type: ignore[no-any-return]
    except (AttributeError, OSError):  # not glibc
        return None


def _malloc_trim() -> Callable[[int], int] | None:
    return _libc_function("malloc_trim")


@functools.cache
def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold for the rest of the process, so that every freed large
    block (a frame's activations) goes straight back to the system: memory flat over a
    job of any length. Process-wide and idempotent; False without glibc."""
    mallopt = _libc_function("mallopt")
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (a few ms; a no-op without glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
