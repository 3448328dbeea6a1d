"""Jobs of the web page: a queue that runs one job at a time in a worker thread.

A job is a function of its own progress: the worker calls ``job.work(job.progress)`` and
the function passes ``progress`` to the pipeline as its `Reporter`. The page reads the
progress through `Job.snapshot`; cancelling a job makes its next progress report raise
`JobCancelled`, which unwinds the pipeline like any failure (its sink is aborted, so no
output appears). Nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AnimateError

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job's work when its page went away or the server is stopping."""


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class OutputFile:
    """A file a job produced, served to its page by ``name`` (never by a client path)."""

    name: str  # the URL segment
    path: Path  # inside the job folder
    download_name: str  # what the browser saves it as
    label: str  # shown on the page
    media_type: str = "video/mp4"
    # The output's provenance marks (`AnimateResult.provenance`), shown beside it.
    marks: dict[str, Any] | None = None


class JobProgress:
    """The `Reporter` a job's pipeline runs with: stage, frames, rate, notices.

    Written by the worker thread, read by the web server's thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self.stage: str | None = None
        self.done = 0
        self.total: int | None = None
        self._stage_started = time.monotonic()
        self._stage_ended: float | None = None
        self.notices: list[str] = []

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise `JobCancelled` if the job was cancelled."""
        if self._cancelled.is_set():
            raise JobCancelled

    # Reporter
    def notice(self, message: str) -> None:
        with self._lock:
            self.notices.append(message)

    def start(self, stage: str, total: int | None) -> None:
        self.check()
        with self._lock:
            self.stage, self.done, self.total = stage, 0, total
            self._stage_started, self._stage_ended = time.monotonic(), None

    def advance(self, count: int = 1) -> None:
        self.check()
        with self._lock:
            self.done += count

    def finish(self) -> None:
        with self._lock:
            if self.total is None or self.done > self.total:
                self.total = self.done
            self._stage_ended = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        """Stage, frames done and expected, frames per second and seconds left."""
        with self._lock:
            elapsed = (self._stage_ended or time.monotonic()) - self._stage_started
            rate = self.done / elapsed if self.done and elapsed > 0 else None
            eta = None
            if rate and self.total is not None and self.total >= self.done:
                eta = (self.total - self.done) / rate
            return {
                "stage": self.stage,
                "done": self.done,
                "total": self.total,
                "fps": round(rate, 2) if rate else None,
                "eta": round(eta, 1) if eta is not None else None,
                "notices": list(self.notices),
            }


@dataclass
class Job:
    """One request from a page: its private folder, its work and what came of it."""

    id: str
    kind: str  # "animate", "crop" or "verify"
    folder: Path  # private to this job; removed when the job is discarded
    work: Callable[[JobProgress], list[OutputFile]]
    inputs: list[Path]  # uploaded files, removed as soon as the job ends
    # Uploaded file → the name the user knows it by, to rewrite messages that name it.
    display_names: dict[Path, str] = field(default_factory=dict)
    progress: JobProgress = field(default_factory=JobProgress)
    state: JobState = JobState.QUEUED
    error: str | None = None
    outputs: list[OutputFile] = field(default_factory=list)
    seconds: float | None = None  # run time, once finished
    watchers: int = 0  # pages following the job; none for a while means it is abandoned
    # A verify job's findings (`VerifyReport.to_dict`, the file called by its own name).
    verification: dict[str, Any] | None = None

    def user_message(self, exc: AnimateError) -> str:
        """The CLI's one-line message, with uploaded files called by their own names."""
        return rewrite_paths(str(exc), self.display_names, self.folder)

    def output(self, name: str) -> OutputFile | None:
        return next((o for o in self.outputs if o.name == name), None)


def rewrite_paths(message: str, names: dict[Path, str], folder: Path) -> str:
    """``message`` with the server's paths of a job's inputs replaced by their names."""
    for path, name in names.items():
        message = message.replace(str(path), name)
    return message.replace(f"{folder}/", "")


class JobQueue:
    """Runs jobs one at a time, in order, in a worker thread.

    Jobs wait in a visible queue (`position`). `discard` cancels a job wherever it is and
    removes its folder once nothing uses it; `close` does that for every job.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._jobs: dict[str, Job] = {}
        self._running: Job | None = None
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="animate-serve-jobs", daemon=True)
        self._worker.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._lock.notify_all()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def position(self, job: Job) -> int | None:
        """1 for the next job to run, 2 after it, ...; None when not waiting."""
        with self._lock:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return None

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"waiting": len(self._waiting), "running": int(self._running is not None)}

    def discard(self, job: Job) -> None:
        """Cancel the job if it has not finished and delete its folder."""
        with self._lock:
            self._jobs.pop(job.id, None)
            if job in self._waiting:
                self._waiting.remove(job)
                job.state = JobState.CANCELLED
            job.progress.cancel()
            running = job is self._running
        if not running:  # otherwise the worker removes the folder when the job stops
            _remove(job.folder)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel everything, wait for the running job to unwind, delete every folder."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
            self._lock.notify_all()
        for job in jobs:
            self.discard(job)
        self._worker.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._running = self._waiting.popleft()
                job.state = JobState.RUNNING
            self._execute(job)
            with self._lock:
                self._running = None
                abandoned = job.id not in self._jobs
            if abandoned:
                _remove(job.folder)

    def _execute(self, job: Job) -> None:
        started = time.perf_counter()
        try:
            outputs = job.work(job.progress)
        except JobCancelled:
            job.state = JobState.CANCELLED
        except AnimateError as exc:
            job.error = job.user_message(exc)
            job.state = JobState.FAILED
        except Exception as exc:  # a bug: the page gets one line, the terminal the traceback
            log.exception("job %s failed", job.id)
            job.error = f"unexpected {type(exc).__name__} (details in the server's terminal)"
            job.state = JobState.FAILED
        else:
            job.outputs = outputs
            job.state = JobState.DONE
        finally:
            job.seconds = time.perf_counter() - started
            for path in job.inputs:
                path.unlink(missing_ok=True)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
