"""Handing memory the process has freed back to the system, between a job's stages and
every few seconds while frames are animated.

glibc keeps freed blocks in its heaps for reuse, and a heap shrinks only from its top:
a model freed in the middle (dlib's 66 MiB landmark predictor, allocated in thousands of
small pieces) stays in the process's RSS for the rest of the job. So do the holes the
frames' feature maps leave: a map of one size rarely fits exactly where another was, and
a TPSMM job's free-but-resident heap grew from 100 to 290 MiB over 600 frames (its live
memory stayed at 300). ``malloc_trim`` returns every free page. Other C libraries have no
such call and need none here.
"""

from __future__ import annotations

import ctypes
import functools
import time
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


class PeriodicRelease:
    """`release_freed_memory` at most once per ``interval`` seconds, for a loop to call
    after each step: the resident heap stays bounded by some seconds' worth of holes
    however long the video. The pages the next steps fault back in are the cost: every
    2 s it slowed TPSMM's frames by about 10% (in turns), hence the longer default."""

    def __init__(
        self,
        interval: float = 10.0,
        release: Callable[[], None] = release_freed_memory,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.interval = interval
        self._release = release
        self._clock = clock
        self._last = clock()

    def __call__(self) -> None:
        now = self._clock()
        if now - self._last >= self.interval:
            self._release()
            self._last = self._clock()
