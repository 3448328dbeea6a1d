"""Progress and notices on stderr: a rich progress bar, or nothing for --quiet/--json."""

from __future__ import annotations

import weakref

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .progress import Reporter

stderr_console = Console(stderr=True)
# Progress displays running now: stopped before the final error line is printed, so no
# bar is redrawn below it (the error is the last thing on stderr).
_LIVE: weakref.WeakSet[Progress] = weakref.WeakSet()


def start_live(progress: Progress) -> None:
    """Start ``progress`` and remember it for `stop_live_displays`."""
    progress.start()
    _LIVE.add(progress)


def stop_live_displays() -> None:
    """Stop every progress display still running (a no-op for stopped ones)."""
    for progress in list(_LIVE):
        progress.stop()
    _LIVE.clear()


class RateColumn(ProgressColumn):
    """Items per second of the running task: frames ("fps"), or the unit the task names
    in its ``unit`` field (a batch's pairs: "pairs/s")."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "fps")
        return Text(f"{speed:.2f} {unit}" if speed else f"-- {unit}", style="progress.data.speed")


class RichReporter:
    """Renders each stage as a progress bar (frames, fps, ETA) and notices as lines."""

    def __init__(self, console: Console = stderr_console, *, show_progress: bool = True):
        self.console = console
        self.show_progress = show_progress and console.is_terminal
        self._progress: Progress | None = None
        self._task: int | None = None

    def notice(self, message: str) -> None:
        # One line, however long: wrapping would split it for whoever reads the log.
        self.console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)

    def start(self, stage: str, total: int | None) -> None:
        self.finish()
        if not self.show_progress:
            return
        self._progress = Progress(
            TextColumn(f"[bold]{stage:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        start_live(self._progress)
        self._task = self._progress.add_task(stage, total=total)

    def advance(self, count: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)

    def finish(self) -> None:
        if self._progress is not None:
            if self._task is not None:
                task = self._progress.tasks[0]
                self._progress.update(self._task, total=task.completed)
            self._progress.stop()
        self._progress = None
        self._task = None


class QuietReporter(RichReporter):
    """No progress bar and no notices (errors still reach stderr from the CLI)."""

    def __init__(self) -> None:
        super().__init__(show_progress=False)

    def notice(self, message: str) -> None:
        pass


class BatchDisplay(RichReporter):
    """One live display for a batch: overall pairs plus the current video's frames."""

    def __init__(
        self, console: Console = stderr_console, *, show_progress: bool = True, quiet: bool = False
    ):
        super().__init__(console, show_progress=show_progress and not quiet)
        self.quiet = quiet
        self._pairs: int | None = None
        self._stage: int | None = None
        self._workers: dict[int, _WorkerLine] = {}
        if self.show_progress:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            start_live(self._progress)

    def notice(self, message: str) -> None:
        if not self.quiet:
            super().notice(message)

    # BatchProgress
    def pair_started(self, index: int, total: int, pair: object) -> None:
        if self._progress is None:
            return
        if self._pairs is None:
            self._pairs = self._progress.add_task("pairs", total=total, unit="pairs/s")
        name = getattr(getattr(pair, "output", None), "name", "")
        self._progress.update(self._pairs, description=f"pairs ({name[:14]})")

    def pair_finished(self, result: object) -> None:
        status = getattr(result, "status", "")
        if status == "failed":
            self.console.print(
                f"[red]failed:[/] {getattr(result, 'output', '')}: {getattr(result, 'error', '')}",
                highlight=False,
            )
        if self._progress is not None and self._pairs is not None:
            self._progress.advance(self._pairs)

    # Reporter (the current pair's stages)
    def start(self, stage: str, total: int | None) -> None:
        if self._progress is None:
            return
        if self._stage is not None:
            self._progress.remove_task(self._stage)
        self._stage = self._progress.add_task(f"  {stage} frames", total=total)

    def advance(self, count: int = 1) -> None:
        if self._progress is not None and self._stage is not None:
            self._progress.advance(self._stage, count)

    def finish(self) -> None:
        if self._progress is not None and self._stage is not None:
            self._progress.remove_task(self._stage)
            self._stage = None

    def worker_reporter(self, worker: int) -> Reporter:
        """The frames progress of one worker of ``batch --jobs N``: a line of its own."""
        if worker not in self._workers:
            self._workers[worker] = _WorkerLine(self, worker)
        return self._workers[worker]

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class _WorkerLine:
    """One worker's current stage as a line of a `BatchDisplay`."""

    def __init__(self, display: BatchDisplay, worker: int):
        self.display = display
        self.worker = worker
        self._task: TaskID | None = None

    def notice(self, message: str) -> None:
        self.display.notice(message)

    def start(self, stage: str, total: int | None) -> None:
        progress = self.display._progress
        if progress is None:
            return
        self.finish()
        self._task = progress.add_task(f"  {self.worker}: {stage}", total=total)

    def advance(self, count: int = 1) -> None:
        if self.display._progress is not None and self._task is not None:
            self.display._progress.advance(self._task, count)

    def finish(self) -> None:
        if self.display._progress is not None and self._task is not None:
            self.display._progress.remove_task(self._task)
            self._task = None


class DownloadReporter(RichReporter):
    """One progress bar per downloaded file, in bytes (size, speed, time left)."""

    def start(self, stage: str, total: int | None) -> None:
        from rich.progress import DownloadColumn, TransferSpeedColumn

        self.finish()
        if not self.show_progress:
            return
        self._progress = Progress(
            TextColumn(f"[bold]{stage}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        start_live(self._progress)
        self._task = self._progress.add_task(stage, total=total)
