"""The job queue: one job at a time, in order; cancelling unwinds the job's own work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from animatecli.errors import InputError
from animatecli.serve.jobs import Job, JobProgress, JobQueue, JobState, OutputFile


def wait_finished(job: Job, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.01)):
        if job.state.finished:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"job {job.id} is still {job.state}")


def make_job(tmp_path: Path, name: str, work: Callable[[JobProgress], list[OutputFile]]) -> Job:
    folder = tmp_path / name
    folder.mkdir()
    upload = folder / "upload-source"
    upload.write_bytes(b"photo")
    return Job(name, "animate", folder, work, [upload], {upload: "me.png"})


def test_jobs_run_one_at_a_time_in_order_and_their_uploads_go(tmp_path: Path) -> None:
    queue = JobQueue()
    running, release = threading.Event(), threading.Event()
    order: list[str] = []

    def work(progress: JobProgress) -> list[OutputFile]:
        order.append(threading.current_thread().name)
        running.set()
        release.wait(10)
        progress.start("animating", 2)
        progress.advance(2)
        progress.finish()
        return []

    first, second = make_job(tmp_path, "a", work), make_job(tmp_path, "b", work)
    queue.submit(first)
    queue.submit(second)
    assert running.wait(10)
    assert first.state is JobState.RUNNING and queue.position(first) is None
    assert second.state is JobState.QUEUED and queue.position(second) == 1
    release.set()
    wait_finished(first)
    wait_finished(second)
    assert first.state is second.state is JobState.DONE
    assert order == ["animate-serve-jobs"] * 2
    assert first.progress.snapshot()["done"] == 2
    assert not (first.folder / "upload-source").exists()
    assert first.folder.exists()  # the results stay until the job is discarded
    queue.discard(first)
    assert not first.folder.exists()
    queue.close()


def test_discarding_a_running_job_cancels_it_at_its_next_report(tmp_path: Path) -> None:
    queue = JobQueue()
    started = threading.Event()
    reports = 0

    def work(progress: JobProgress) -> list[OutputFile]:
        nonlocal reports
        progress.start("animating", None)
        started.set()
        while True:  # a pipeline reporting frames until told to stop
            progress.advance()
            reports += 1
            threading.Event().wait(0.005)

    job = make_job(tmp_path, "c", work)
    queue.submit(job)
    assert started.wait(10)
    queue.discard(job)
    wait_finished(job)
    assert job.state is JobState.CANCELLED
    queue.close()
    assert not job.folder.exists()
    assert reports > 0


def test_a_failed_job_names_uploads_as_the_user_does(tmp_path: Path) -> None:
    queue = JobQueue()

    def work(progress: JobProgress) -> list[OutputFile]:
        raise InputError(f"{tmp_path / 'd' / 'upload-source'} is not a readable image file")

    job = make_job(tmp_path, "d", work)
    queue.submit(job)
    wait_finished(job)
    assert job.state is JobState.FAILED
    assert job.error == "me.png is not a readable image file"
    queue.close()
    assert not job.folder.exists()
