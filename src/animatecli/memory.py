"""How the process's C heap holds memory: what it has freed handed back to the system
between a job's stages and every few seconds while frames are animated, and a frame's
large maps kept out of it.

glibc keeps freed blocks in its heaps for reuse, and a heap shrinks only from its top:
a model freed in the middle (dlib's 66 MiB landmark predictor, allocated in thousands of
small pieces) stays in the process's RSS for the rest of the job. So do the holes the
frames' feature maps leave: a map of one size rarely fits exactly where another was, and
a TPSMM job's free-but-resident heap grew from 100 to 290 MiB over 600 frames (its live
memory stayed at 300). ``malloc_trim`` returns every free page. Other C libraries have no
such call and need none here.

Within a frame the heap fragments too: a TPSMM frame allocates about 880 MiB in blocks of
1 MiB or more, only 50 MiB of them live at once, and whether each finds a hole or
extends the heap decided a job's peak (820–909 MiB over twelve runs of one job). Inside
the generator (`large_blocks_mapped`) a block of 8 MiB or more that the heap has no free
room for gets its own mapping, returned whole when freed, instead of growing the heap.
Such a mapping is page-faulted in afresh every frame; with transparent huge pages
(`request_huge_pages`, asked of PyTorch by the ``animate`` command before torch loads)
that is one fault per 2 MiB instead of one per 4 KiB.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager

# PyTorch's switch for its CPU allocator: tensors of 2 MiB or more aligned to 2 MiB and
# marked for transparent huge pages (madvise). Read once, at its first large allocation.
TORCH_HUGE_PAGES = "THP_MEM_ALLOC_ENABLE"


def request_huge_pages(environ: MutableMapping[str, str] = os.environ) -> None:
    """Ask PyTorch for transparent huge pages under large tensors, unless the user chose
    (``THP_MEM_ALLOC_ENABLE=0`` turns them off). Takes effect only before torch's first
    large allocation, so the ``animate`` entry point calls it before importing anything.

    Why: the generator's large maps get their own mappings (`large_blocks_mapped`), which
    each frame faults in afresh; in huge pages a TPSMM job took 0.4–0.5 million page
    faults instead of 2.3–3.5 million (docs/performance.md). Where the kernel does not
    offer them on request (``never``), nothing changes."""
    environ.setdefault(TORCH_HUGE_PAGES, "1")


@functools.cache
def _glibc_function(name: str) -> Callable[..., int] | None:
    """glibc's ``malloc_trim`` or ``mallopt``; None under another C library."""
    try:
        return getattr(ctypes.CDLL(None), name)  # type: ignore[no-any-return]
    except (AttributeError, OSError):  # not glibc
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (a few ms; a no-op without glibc)."""
    trim = _glibc_function("malloc_trim")
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


# glibc's mallopt parameter: blocks of at least this many bytes get their own mapping.
M_MMAP_THRESHOLD = -3
# Inside the generator: its feature maps of 8 MiB and more (a 128-channel 128×128 map, a
# 64-channel 256×256 one), the blocks whose holes decided TPSMM's peak. 16 MiB caught
# too few of them to change it; lower thresholds page-fault more of each frame afresh.
GENERATOR_MMAP_THRESHOLD = 8 << 20
# Outside: the highest threshold glibc's own dynamic rule reaches on 64-bit systems,
# where it settles once a process has freed a few large blocks. (Setting a threshold
# ends that rule: glibc then keeps the value it is given.)
HEAP_MMAP_THRESHOLD = 32 << 20


class _MappedScope:
    """The threshold lowered while any thread is inside the scope (a server's jobs run
    side by side), raised again when the last one leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0

    def enter(self, set_option: Callable[[int, int], int], threshold: int) -> None:
        with self._lock:
            self._inside += 1
            if self._inside == 1:
                set_option(M_MMAP_THRESHOLD, threshold)

    def leave(self, set_option: Callable[[int, int], int]) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                set_option(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD)


_SCOPE = _MappedScope()


@contextmanager
def large_blocks_mapped(
    threshold: int = GENERATOR_MMAP_THRESHOLD,
    set_option: Callable[[int, int], int] | None = None,
) -> Iterator[None]:
    """Inside: a block of at least ``threshold`` bytes that glibc cannot place in the
    heap's free room gets its own mapping, returned to the system whole when freed,
    instead of growing the heap (glibc consults the threshold only when the heap has no
    room): a frame's large maps reuse the heap's holes but make no new ones. The cost is
    faulting the mapped pages in afresh each time: in 4 KiB pages a fifth of a TPSMM
    frame in some rounds, in huge pages (`request_huge_pages`) fewer faults than the heap
    took without the scope (docs/performance.md). A no-op without glibc.
    ``set_option``: glibc's ``mallopt`` (tests pass a recorder)."""
    set_option = set_option or _glibc_function("mallopt")
    if set_option is None:
        yield
        return
    _SCOPE.enter(set_option, threshold)
    try:
        yield
    finally:
        _SCOPE.leave(set_option)
