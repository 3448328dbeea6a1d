"""The two background threads of a job: the decoder's prefetch and the encoder's writer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from animatecli.streaming import BackgroundWriter, Prefetcher


def test_the_prefetcher_yields_everything_in_order() -> None:
    with Prefetcher(range(100), depth=3) as items:
        assert list(items) == list(range(100))


def test_a_failing_source_raises_in_the_consumer_after_its_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad frame")

    seen = []
    with pytest.raises(ValueError, match="bad frame"), Prefetcher(source()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_producer_within_its_depth() -> None:
    produced = []

    def source() -> Iterator[int]:
        for n in range(10_000):
            produced.append(n)
            yield n

    with Prefetcher(source(), depth=2) as items:
        assert next(iter(items)) == 0
    # Stopped: the producer ran at most a queue's depth (and the item in hand) ahead.
    assert len(produced) <= 5


def test_the_writer_writes_in_order_and_join_waits_for_all() -> None:
    written: list[int] = []
    writer: BackgroundWriter[int] = BackgroundWriter(written.append, depth=2)
    for n in range(50):
        writer.submit(n)
    writer.join()
    assert written == list(range(50))


def test_a_write_failure_reaches_the_submitter() -> None:
    def write(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    writer: BackgroundWriter[int] = BackgroundWriter(write, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for n in range(100):
            writer.submit(n)
        writer.join()


def test_cancel_drops_what_is_queued() -> None:
    never = threading.Event()
    written: list[int] = []

    def write(item: int) -> None:
        never.wait(0.3)  # a slow encoder: the rest is still queued when cancel comes
        written.append(item)

    writer: BackgroundWriter[int] = BackgroundWriter(write, depth=4)
    for n in range(4):
        writer.submit(n)
    writer.cancel()
    assert len(written) <= 1  # at most the item being written when cancelled
