"""Small threading helpers that overlap decoding and encoding with model compute.

Both use bounded queues, so at most ``depth`` frames wait in memory however long the
video is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class Prefetcher(Generic[T]):
    """Iterate ``source`` in a background thread, ``depth`` items ahead.

    Exceptions raised by the source are re-raised in the consumer. Closing (or leaving
    the ``with`` block) stops the producer promptly.
    """

    def __init__(self, source: Iterable[T], depth: int = 8):
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer
            self._put(exc)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BackgroundWriter(Generic[T]):
    """Call ``write(item)`` for submitted items in a background thread, in order.

    The worker polls its queue instead of blocking on it: a Ctrl-C that lands inside a
    queue operation of the main thread can lose a condition-variable wake-up, and a
    blocked worker would then never see the end marker.
    """

    def __init__(self, write: Callable[[T], None], depth: int = 8):
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._cancelled.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._write(item)  # type: ignore[arg-type]
                except BaseException as exc:  # reported to the submitter
                    self._error = exc

    def submit(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def join(self) -> None:
        """Wait until everything submitted is written; re-raise a write failure."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Stop without writing what is still queued (on failure or interruption)."""
        self._cancelled.set()
        self._thread.join(timeout=5)
