"""How many CPU threads a job may use, from what the machine actually grants this process.

``os.cpu_count()`` reports the host's cores, not this process's share: a container with a
CPU quota, a ``taskset`` mask or a batch scheduler's allocation all grant fewer, and a
process that starts one compute thread per host core on a 2-core share runs many times
slower than it would with two (the threads preempt each other while they spin-wait).
This module reads the share (affinity mask, cgroup quota, ``OMP_NUM_THREADS``) and splits
it between the model and ffmpeg, and (`ThreadShare`) between the ``animate`` processes
computing on the machine at the same time.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
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
        return self.source == "--threads" or self.source.startswith("OMP_NUM_THREADS")

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
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else None


def thread_budget(requested: int | None = None, *, cgroup_root: Path = CGROUP_ROOT) -> ThreadBudget:
    """The threads one job uses: ``requested`` (``--threads``) when given, else
    ``OMP_NUM_THREADS`` when set (at most the CPUs granted), else the smaller of the
    affinity mask and the quota.

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
    elif omp is not None and omp > cpus:
        # An inherited OMP_NUM_THREADS=100000 would start that many spinning threads on
        # this share: more threads than CPUs only slows a job down, so the share caps it.
        source = f"OMP_NUM_THREADS={omp} capped at the {source}"
    elif omp is not None:
        cpus, source = omp, "OMP_NUM_THREADS"
    return ThreadBudget(cpus=cpus, compute=cpus, codec=max(1, cpus // 4), source=source)


class ThreadShare:
    """This process's share of a `ThreadBudget` among the animate jobs computing now.

    A process counts only while it computes: :meth:`computing` takes its place for the
    length of one job and gives it back when the job ends, fails or is cancelled, so an
    idle server, notebook or API user costs other jobs nothing. A place is an exclusive
    ``flock`` on a file of this process's in ``folder`` (the kernel drops the lock when the
    process dies, however it dies); the number of locked files is the number of computing
    processes, and each takes ``cpus // live`` compute threads (at least one).
    :meth:`rebalance` re-counts (at most once per ``interval`` seconds) and calls ``apply``
    with the new count when it changed, so a job started alone gives up half its threads
    when a second one starts, and takes them back after.

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
        self._places = 0  # jobs of this share computing now (a place is held while > 0)
        self.compute = budget.compute
        self.live = 1  # computing processes at the last count, this one included
        apply(self.compute)

    @property
    def shared(self) -> bool:
        """Whether this share counts the others at all (not when the user chose a count)."""
        return not self.budget.explicit and fcntl is not None

    @contextlib.contextmanager
    def computing(self) -> Iterator[int]:
        """Count this process among the computing ones while the block runs; yields the
        compute threads it starts with. Nested and concurrent jobs of one process share
        one place."""
        took = self.shared and _PLACES.take(self.folder)
        if took:
            self._places += 1
        try:
            self._checked = -math.inf  # count now: the machine may have changed while idle
            yield self.rebalance()
        finally:
            if took:
                self._places -= 1
                _PLACES.give_back(self.folder)

    def live_processes(self) -> int:
        """Animate processes computing now (this one included, counted once)."""
        if not self.shared:
            return 1
        others = _count_locked(self.folder) - (1 if _PLACES.held(self.folder) else 0)
        return max(0, others) + 1

    def rebalance(self) -> int:
        """Re-count the computing processes (rate-limited) and apply this one's share."""
        now = time.monotonic()
        if not self.shared or now - self._checked < self.interval:
            return self.compute
        self._checked = now
        self.live = self.live_processes()
        share = max(1, self.budget.cpus // self.live)
        if share != self.compute:
            self.compute = share
            self._apply(share)
        return self.compute

    def describe(self) -> str:
        """Why a job has the threads it has, in words (``doctor`` and ``--json``)."""
        granted = f"{self.budget.source} grants {self.budget.cpus} CPUs"
        if not self.shared:
            return f"{self.compute} compute threads ({granted}, used as given)"
        jobs = "1 computing job" if self.live == 1 else f"{self.live} computing jobs"
        return f"{self.compute} compute threads ({granted}, shared by {jobs})"

    def to_dict(self) -> dict[str, object]:
        return {
            "compute": self.compute,
            "cpus": self.budget.cpus,
            "source": self.budget.source,
            "shared": self.shared,
            "computing_jobs": self.live,
            "reason": self.describe(),
        }


class _Places:
    """This process's places in live folders, counted over its computing jobs.

    The first job to start takes the place (creates and locks a file), the last to end
    gives it back (unlocks and removes it). Each place gets a fresh file name, so a
    counter that found an old file unlocked never removes a newer one by mistake.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Path, tuple[int, Path, int]] = {}  # folder -> (jobs, file, fd)
        self._serial = itertools.count()
        atexit.register(self._leave_all)

    def take(self, folder: Path) -> bool:
        """Count one more job in ``folder``; False where no place can be had (then the
        process counts itself alone)."""
        with self._lock:
            if folder in self._held:
                jobs, path, fd = self._held[folder]
                self._held[folder] = (jobs + 1, path, fd)
                return True
            place = _lock_place(folder, next(self._serial))
            if place is None:
                return False
            self._held[folder] = (1, *place)
            return True

    def give_back(self, folder: Path) -> None:
        with self._lock:
            jobs, path, fd = self._held[folder]
            if jobs > 1:
                self._held[folder] = (jobs - 1, path, fd)
                return
            del self._held[folder]
            _leave(path, fd)

    def held(self, folder: Path) -> bool:
        with self._lock:
            return folder in self._held

    def _leave_all(self) -> None:
        with self._lock:
            for _, path, fd in self._held.values():
                _leave(path, fd)
            self._held.clear()


def _lock_place(folder: Path, serial: int) -> tuple[Path, int] | None:
    """Create and lock a place file in ``folder``; None where locks are unavailable.

    The file is locked under a temporary name and renamed into place, so a counter
    never sees it unlocked (and takes it for a dead process's).
    """
    if fcntl is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{serial}"
        temporary = folder / f".{name}.new"
        fd = os.open(temporary, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = folder / f"{name}.lock"
            os.replace(temporary, path)
        except OSError:
            os.close(fd)
            raise
        return path, fd
    except OSError:  # an unwritable temp folder: count this process alone
        return None


_PLACES = _Places()


def _leave(path: Path, fd: int) -> None:
    # Removed before the lock goes, so no counter takes the file for a dead process's.
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
