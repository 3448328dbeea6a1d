"""A Ctrl-C that cannot be lost on its way to the output.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. If that is a
finaliser (a ``__del__``, a generator being collected), CPython prints "Exception
ignored" and carries on, and the run would finish and publish its output as if never
interrupted. While the CLI works, its SIGINT handler also records the request, and every
output checks it just before it becomes visible.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


@contextmanager
def recording_interrupts() -> Iterator[None]:
    """Record Ctrl-C (and still raise ``KeyboardInterrupt``) for the duration."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    _requested.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()  # outside the CLI's run nothing consults it


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C was recorded, even one that was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt
