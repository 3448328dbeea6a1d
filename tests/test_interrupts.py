"""Ctrl-C and SIGTERM that cannot be lost (animatecli.interrupts): recorded while the CLI works,
even when a finaliser swallows the ``KeyboardInterrupt``, and forgotten afterwards."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import pytest

from animatecli.interrupts import (
    Terminated,
    raise_if_interrupted,
    recording_interrupts,
    terminate_like_interrupt,
)


def deliver(signum: int) -> None:
    """Send ``signum`` to this process; Python runs the handler before the call returns."""
    os.kill(os.getpid(), signum)


def test_ctrl_c_raises_and_is_recorded_until_the_run_ends() -> None:
    before = signal.getsignal(signal.SIGINT)
    with recording_interrupts():
        with pytest.raises(KeyboardInterrupt) as raised:
            deliver(signal.SIGINT)
        assert type(raised.value) is KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()  # still recorded: every output checks before it appears
    assert signal.getsignal(signal.SIGINT) is before
    raise_if_interrupted()  # outside the run nothing is recorded


def test_sigterm_raises_terminated_which_cleans_up_like_ctrl_c() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with recording_interrupts():
        with pytest.raises(Terminated):
            deliver(signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    assert signal.getsignal(signal.SIGTERM) is before
    assert issubclass(Terminated, KeyboardInterrupt)


class SignalledWhileCollected:
    """An object whose finaliser is where the Ctrl-C lands."""

    def __del__(self) -> None:
        deliver(signal.SIGINT)


def test_a_ctrl_c_swallowed_by_a_finaliser_is_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    swallowed: list[type[BaseException] | None] = []

    def unraisable(info: Any) -> None:  # what CPython prints as "Exception ignored in ..."
        swallowed.append(info.exc_type)

    monkeypatch.setattr(sys, "unraisablehook", unraisable)
    with recording_interrupts():
        finalised = SignalledWhileCollected()
        del finalised  # the KeyboardInterrupt is raised inside __del__, and ignored there
        assert swallowed == [KeyboardInterrupt]
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    raise_if_interrupted()


def test_outside_the_main_thread_nothing_is_installed() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    seen: list[object] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with recording_interrupts():  # must not try to install handlers here
                seen.append((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))
            terminate_like_interrupt()  # likewise a no-op
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert failures == [] and seen == [before]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_terminate_like_interrupt_makes_sigterm_a_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGTERM)
    try:
        terminate_like_interrupt()
        with pytest.raises(Terminated):
            deliver(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, before)
        with recording_interrupts():  # entering and leaving a run forgets what was recorded
            pass
    raise_if_interrupted()  # the tests after this one publish outputs
