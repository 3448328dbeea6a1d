"""How jobs report progress and notices; the CLI supplies a renderer (see reporting)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Where a job reports progress and notices."""

    def notice(self, message: str) -> None: ...

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


class SilentReporter:
    """A reporter that drops everything (API use, tests)."""

    def notice(self, message: str) -> None:
        pass

    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
