"""A Ctrl-C or SIGTERM that cannot be lost on its way to the output.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. If that is a
finaliser (a ``__del__``, a generator being collected), CPython prints "Exception
ignored" and carries on, and the run would finish and publish its output as if never
interrupted. While the CLI works, its signal handlers also record the request, and every
output checks it just before it becomes visible.

SIGTERM (``kill``, a job scheduler's time limit) raises `Terminated`, a
``KeyboardInterrupt``, so everything that cleans up after Ctrl-C cleans up after it too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()


class Terminated(KeyboardInterrupt):
    """SIGTERM was received."""


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise Terminated


def terminate_like_interrupt() -> None:
    """Make SIGTERM raise `Terminated` in the main thread (from the very start of a run)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


@contextmanager
def recording_interrupts() -> Iterator[None]:
    """Record Ctrl-C and SIGTERM (and still raise) for the duration."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    _requested.clear()
    previous_int = signal.signal(signal.SIGINT, _on_sigint)
    previous_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        _requested.clear()  # outside the CLI's run nothing consults it


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C or SIGTERM was recorded, even a swallowed one."""
    if _requested.is_set():
        raise KeyboardInterrupt
