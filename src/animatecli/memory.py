"""Handing memory the process has freed back to the system, between a job's stages.

glibc keeps freed blocks in its heaps for reuse, and a heap shrinks only from its top:
a model freed in the middle (dlib's 66 MiB landmark predictor, allocated in thousands of
small pieces) stays in the process's RSS for the rest of the job. ``malloc_trim``
returns every free page. Other C libraries have no such call and need none here.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (AttributeError, OSError):  # not glibc
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (a few ms; a no-op without glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
