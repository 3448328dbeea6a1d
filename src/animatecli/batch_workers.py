"""``animate batch --jobs N``: N worker processes, each loading the model once and taking
pairs from one shared queue, so every pair is done exactly once whatever each takes.

The parent holds the one live display and the results: workers send it their events
(pair started, frames progress, notices, results) over a queue. Each worker runs the
serial batch loop (`batch.run_batch`) on one pair at a time, so skipping, failures and
the report entries are those of ``--jobs 1``. Compute threads are split: each worker is
an animate process taking its share of the CPUs (`threads.ThreadShare`), or
``--threads // N`` when ``--threads`` is given.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import queue
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from .batch import BatchProgress, Pair, PairResult, animate_pair, run_batch
from .errors import AnimateError
from .options import AnimateOptions, ModelOptions
from .progress import Reporter

# What a worker sends: ("ready", worker), ("failed_to_start", worker, error),
# ("pair", worker, index), ("result", worker, index, result), ("done", worker),
# ("reporter", worker, method name, args).
Message = tuple[Any, ...]


class _QueueReporter:
    """A worker's `Reporter` (and `BatchProgress`): every call becomes an event."""

    def __init__(self, events: Queue[Message], worker: int):
        self.events = events
        self.worker = worker

    def notice(self, message: str) -> None:
        self.events.put(("reporter", self.worker, "notice", (message,)))

    def start(self, stage: str, total: int | None) -> None:
        self.events.put(("reporter", self.worker, "start", (stage, total)))

    def advance(self, count: int = 1) -> None:
        self.events.put(("reporter", self.worker, "advance", (count,)))

    def finish(self) -> None:
        self.events.put(("reporter", self.worker, "finish", ()))


def _work(
    worker: int,
    model_options: ModelOptions,
    options: AnimateOptions,
    tasks: Queue[tuple[int, Pair] | None],
    events: Queue[Message],
    stop: Event,
) -> None:
    """One worker: load the model, then animate pairs until the queue's end marker."""
    from .runtime.runtime import Runtime  # torch loads in the worker only

    reporter = _QueueReporter(events, worker)
    try:
        runtime = Runtime(model_options)
        runtime.check(options)
    except AnimateError as exc:
        events.put(("failed_to_start", worker, exc))
        return
    events.put(("ready", worker))

    try:
        while not stop.is_set():
            task = tasks.get()
            if task is None:
                break
            index, pair = task
            events.put(("pair", worker, index))
            animate = functools.partial(animate_pair, runtime, reporter)
            (result,) = run_batch([pair], options, animate)
            events.put(("result", worker, index, result))
    except KeyboardInterrupt:
        pass  # the parent was interrupted too; the pair's output was cleaned up
    finally:
        events.put(("done", worker))


def run_parallel(
    pairs: list[Pair],
    model_options: ModelOptions,
    options: AnimateOptions,
    jobs: int,
    *,
    fail_fast: bool = False,
    progress: BatchProgress,
    reporter_for: Callable[[int], Reporter],
    results: list[PairResult],
) -> list[PairResult]:
    """Animate ``pairs`` in ``jobs`` worker processes; results in ``pairs`` order.

    ``reporter_for(worker)`` gives the display of each worker's frames progress. A worker
    that fails to load the model ends the batch with that error (as ``--jobs 1`` would);
    a worker that dies mid-pair leaves that pair failed, not lost.
    """
    if model_options.threads is not None:
        model_options = dataclasses.replace(
            model_options, threads=max(1, model_options.threads // jobs)
        )
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    tasks: Queue[tuple[int, Pair] | None] = context.Queue()
    events: Queue[Message] = context.Queue()
    stop = context.Event()
    for index, pair in enumerate(pairs):
        tasks.put((index, pair))
    workers: list[SpawnProcess] = []
    for worker in range(min(jobs, len(pairs))):
        tasks.put(None)
        process = context.Process(
            target=_work,
            args=(worker, model_options, options, tasks, events, stop),
            name=f"animate-worker-{worker}",
        )
        process.start()
        workers.append(process)
    by_index: dict[int, PairResult] = {}
    running: dict[int, int] = {}  # worker -> index of the pair it animates
    done: set[int] = set()
    error: AnimateError | None = None
    try:
        while len(done) < len(workers):
            try:
                event = events.get(timeout=1.0)
            except queue.Empty:
                for worker, process in enumerate(workers):
                    if worker not in done and not process.is_alive():
                        done.add(worker)  # died without a word (killed, crashed)
                        _lost(worker, running, pairs, by_index, progress, results)
                continue
            kind, worker = event[0], event[1]
            if kind == "reporter":
                getattr(reporter_for(worker), event[2])(*event[3])
            elif kind == "pair":
                running[worker] = event[2]
                progress.pair_started(len(by_index), len(pairs), pairs[event[2]])
            elif kind == "result":
                index, result = event[2], event[3]
                running.pop(worker, None)
                by_index[index] = result
                results.append(result)
                progress.pair_finished(result)
                if fail_fast and result.status == "failed":
                    stop.set()
            elif kind == "failed_to_start":
                error = error or event[2]
                stop.set()
            elif kind == "done":
                done.add(worker)
                _lost(worker, running, pairs, by_index, progress, results)
    finally:
        stop.set()
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join()
    if error is not None:
        raise error
    results[:] = [by_index[i] for i in sorted(by_index)]
    return results


def _lost(
    worker: int,
    running: dict[int, int],
    pairs: list[Pair],
    by_index: dict[int, PairResult],
    progress: BatchProgress,
    results: list[PairResult],
) -> None:
    """Record the pair a finished worker was still on, if any, as failed."""
    index = running.pop(worker, None)
    if index is None or index in by_index:
        return
    pair = pairs[index]
    result = PairResult(
        str(pair.source), str(pair.driving), str(pair.output), "failed", error="worker died"
    )
    by_index[index] = result
    results.append(result)
    progress.pair_finished(result)
