"""How the CLI shows a job's progress and notices."""

from __future__ import annotations

import io

from rich.console import Console

from animatecli.reporting import BatchDisplay, QuietReporter, RichReporter


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, force_terminal=False, color_system=None), out


def test_a_notice_is_one_line() -> None:
    shown, out = console()
    reporter = RichReporter(shown)
    reporter.notice("no face found in photo.png")
    assert out.getvalue() == "note: no face found in photo.png\n"


def test_no_progress_bar_off_a_terminal() -> None:
    shown, out = console()
    reporter = RichReporter(shown, show_progress=True)
    reporter.start("animating", 10)
    reporter.advance(10)
    reporter.finish()
    assert not reporter.show_progress and out.getvalue() == ""


def test_quiet_says_nothing() -> None:
    reporter = QuietReporter()
    reporter.notice("anything")  # would reach stderr if it printed
    assert not reporter.show_progress


def test_the_batch_display_names_failed_pairs_unless_quiet() -> None:
    class Failed:
        status, output, error = "failed", "out/a__b.mp4", "no video frames"

    shown, out = console()
    BatchDisplay(shown, show_progress=False).pair_finished(Failed())
    assert out.getvalue() == "failed: out/a__b.mp4: no video frames\n"
    shown, out = console()
    display = BatchDisplay(shown, show_progress=False, quiet=True)
    display.notice("a notice")
    assert out.getvalue() == ""
