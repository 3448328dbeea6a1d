"""How many CPU threads a job may use, from what the machine actually grants this process.

``os.cpu_count()`` reports the host's cores, not this process's share: a container with a
CPU quota, a ``taskset`` mask or a batch scheduler's allocation all grant fewer, and a
process that starts one compute thread per host core on a 2-core share runs many times
slower than it would with two (the threads preempt each other while they spin-wait).
This module reads the share (affinity mask, cgroup quota, ``OMP_NUM_THREADS``) and splits
it between the model and ffmpeg, and (`ThreadShare`) between the ``animate`` processes
running on the machine at the same time.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on POSIX: every process then counts itself alone
    fcntl = None  # type: ignore[assignment]

CGROUP_ROOT = Path("/sys/fs/cgroup")
# One locked file per live animate process that shares its budget (see `ThreadShare`).
LIVE_FOLDER = Path(tempfile.gettempdir()) / "animatecli-live"


@dataclass(frozen=True)
class ThreadBudget:
    """Threads for one job: the model's compute threads and each ffmpeg process's."""

    cpus: int  # CPUs this process may use
    compute: int  # torch intra-op threads
    codec: int  # threads of each ffmpeg decoder/encoder (0: ffmpeg's own choice)
    source: str  # what limited ``cpus``: "--threads", "OMP_NUM_THREADS", "cgroup quota", ...

    @property
    def explicit(self) -> bool:
        """Whether the user chose the count (then it is used as given, not shared)."""
        return self.source in ("--threads", "OMP_NUM_THREADS")

    def describe(self) -> str:
        return f"{self.compute} compute threads ({self.source}: {self.cpus} CPUs)"


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (``taskset``, cpusets), else all cores."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs' worth of time the cgroup quota grants (e.g. 1.5), or None when unlimited.

    cgroup v2 keeps ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD"); v1 keeps
    ``cpu/cpu.cfs_quota_us`` (-1: unlimited) and ``cpu/cpu.cfs_period_us``.
    """
    try:
        fields = (root / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return _quota(fields[0], fields[1])
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        return _quota(quota, period)
    except (OSError, ValueError):
        return None


def _quota(quota: str, period: str) -> float | None:
    q, p = int(quota), int(period)
    return q / p if q > 0 and p > 0 else None


def env_threads(name: str = "OMP_NUM_THREADS") -> int | None:
    """A positive thread count from the environment (OpenMP's list form: its first entry)."""
    value = os.environ.get(name, "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def thread_budget(requested: int | None = None, *, cgroup_root: Path = CGROUP_ROOT) -> ThreadBudget:
    """The threads one job uses: ``requested`` (``--threads``) when given, else
    ``OMP_NUM_THREADS`` when set, else the smaller of the affinity mask and the quota.

    ffmpeg's decoder and encoder run beside the model and are mostly idle while it
    computes, so on a small share they get one thread each (their default, one per host
    core, would fight the model's threads); on larger shares a quarter of it each.
    """
    cpus = affinity_cpus()
    source = "affinity mask"
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None and math.ceil(quota) < cpus:
        cpus, source = max(1, math.ceil(quota)), "cgroup quota"
    omp = env_threads()
    if requested is not None:
        cpus, source = requested, "--threads"
    elif omp is not None:
        cpus, source = omp, "OMP_NUM_THREADS"
    return ThreadBudget(cpus=cpus, compute=cpus, codec=max(1, cpus // 4), source=source)


class ThreadShare:
    """This process's share of a `ThreadBudget` among the animate processes running now.

    Each process holds an exclusive ``flock`` on its own file in ``folder`` for as long as
    it lives (the kernel drops the lock when it dies, however it dies); the number of
    locked files is the number of live processes, and each takes ``cpus // live`` compute
    threads (at least one). :meth:`rebalance` re-counts (at most once per ``interval``
    seconds) and calls ``apply`` with the new count when it changed, so a job started
    alone gives up half its threads when a second one starts, and takes them back after.

    A budget the user chose (``--threads``, ``OMP_NUM_THREADS``) is used as given.
    """

    def __init__(
        self,
        budget: ThreadBudget,
        apply: Callable[[int], None],
        *,
        folder: Path = LIVE_FOLDER,
        interval: float = 1.0,
    ):
        self.budget = budget
        self.folder = folder
        self.interval = interval
        self._apply = apply
        self._checked = -math.inf
        self.compute = budget.compute
        self._registered = not budget.explicit and _register(folder) is not None
        apply(self.compute)
        self.rebalance()

    def live_processes(self) -> int:
        """Animate processes sharing a budget now (this one included when registered)."""
        if not self._registered:
            return 1
        return max(1, _count_locked(self.folder))

    def rebalance(self) -> int:
        """Re-count the live processes (rate-limited) and apply this process's share."""
        now = time.monotonic()
        if not self._registered or now - self._checked < self.interval:
            return self.compute
        self._checked = now
        share = max(1, self.budget.cpus // self.live_processes())
        if share != self.compute:
            self.compute = share
            self._apply(share)
        return self.compute


@functools.cache
def _register(folder: Path) -> int | None:
    """Create and lock this process's file, once per process (every pipeline of it
    shares it); None where locks are unavailable. Removed at exit (or by the next
    counter after a kill).

    The file is locked under a temporary name and renamed into place, so a counter
    never sees it unlocked (and takes it for a dead process's).
    """
    if fcntl is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{os.getpid()}.new"
        fd = os.open(temporary, os.O_CREAT | os.O_WRONLY, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = folder / f"{os.getpid()}.lock"
        os.replace(temporary, path)
        atexit.register(_leave, path, fd)
        return fd
    except OSError:  # an unwritable temp folder: count this process alone
        return None


def _leave(path: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
    os.close(fd)


def _count_locked(folder: Path) -> int:
    """Files in ``folder`` whose lock is held; the others (dead processes') are removed."""
    assert fcntl is not None
    live = 0
    for path in folder.glob("*.lock"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # removed meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            live += 1  # held by a live process (this one's own file included)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        finally:
            os.close(fd)
    return live
