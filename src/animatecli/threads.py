"""How many CPU threads a job may use, from what the machine actually grants this process.

``os.cpu_count()`` reports the host's cores, not this process's share: a container with a
CPU quota, a ``taskset`` mask or a batch scheduler's allocation all grant fewer, and a
process that starts one compute thread per host core on a 2-core share runs many times
slower than it would with two (the threads preempt each other while they spin-wait).
This module reads the share (affinity mask, cgroup quota, ``OMP_NUM_THREADS``) and splits
it between the model and ffmpeg.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ThreadBudget:
    """Threads for one job: the model's compute threads and each ffmpeg process's."""

    cpus: int  # CPUs this process may use
    compute: int  # torch intra-op threads
    codec: int  # threads of each ffmpeg decoder/encoder (0: ffmpeg's own choice)
    source: str  # what limited ``cpus``: "--threads", "OMP_NUM_THREADS", "cgroup quota", ...

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
