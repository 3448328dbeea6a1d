"""A `Reporter` that keeps what a job told it, for assertions."""

from __future__ import annotations


class RecordingReporter:
    def __init__(self) -> None:
        self.notices: list[str] = []
        self.stages: list[tuple[str, int | None]] = []
        self.advanced = 0

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def start(self, stage: str, total: int | None) -> None:
        self.stages.append((stage, total))

    def advance(self, count: int = 1) -> None:
        self.advanced += count

    def finish(self) -> None:
        pass
