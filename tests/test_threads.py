"""The thread budget follows the share of the machine this process is granted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from animatecli import threads


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "affinity_cpus", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def cgroup_v2(tmp_path: Path, line: str) -> Path:
    (tmp_path / "cpu.max").write_text(line + "\n")
    return tmp_path


def cgroup_v1(tmp_path: Path, quota: int, period: int) -> Path:
    (tmp_path / "cpu").mkdir(parents=True)
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{period}\n")
    return tmp_path


def test_affinity_mask_is_the_default(two_cpus: None, tmp_path: Path) -> None:
    budget = threads.thread_budget(cgroup_root=tmp_path)
    assert (budget.cpus, budget.compute, budget.codec) == (2, 2, 1)
    assert budget.source == "affinity mask"


def test_affinity_of_this_process_is_read() -> None:
    assert 1 <= threads.affinity_cpus() <= (os.cpu_count() or 1)


@pytest.mark.parametrize(
    ("line", "expected"), [("150000 100000", 1.5), ("max 100000", None), ("50000 100000", 0.5)]
)
def test_cgroup_v2_quota(tmp_path: Path, line: str, expected: float | None) -> None:
    assert threads.cgroup_cpu_quota(cgroup_v2(tmp_path, line)) == expected


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    assert threads.cgroup_cpu_quota(cgroup_v1(tmp_path, 100000, 100000)) == 1.0
    assert threads.cgroup_cpu_quota(cgroup_v1(tmp_path / "unlimited", -1, 1)) is None


def test_no_cgroup_files_means_no_quota(tmp_path: Path) -> None:
    assert threads.cgroup_cpu_quota(tmp_path) is None


def test_quota_below_the_mask_limits_threads(two_cpus: None, tmp_path: Path) -> None:
    budget = threads.thread_budget(cgroup_root=cgroup_v2(tmp_path, "50000 100000"))
    assert (budget.cpus, budget.compute, budget.source) == (1, 1, "cgroup quota")


def test_quota_above_the_mask_changes_nothing(two_cpus: None, tmp_path: Path) -> None:
    budget = threads.thread_budget(cgroup_root=cgroup_v2(tmp_path, "800000 100000"))
    assert (budget.cpus, budget.source) == (2, "affinity mask")


def test_omp_num_threads_wins_over_the_machine(
    two_cpus: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    budget = threads.thread_budget(cgroup_root=tmp_path)
    assert (budget.compute, budget.source) == (1, "OMP_NUM_THREADS")


@pytest.mark.parametrize("value", ["", "0", "-2", "many", " "])
def test_unusable_omp_values_are_ignored(
    two_cpus: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert threads.thread_budget(cgroup_root=tmp_path).source == "affinity mask"


def test_openmp_list_form_takes_the_outer_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3,1")
    assert threads.env_threads() == 3


def test_requested_threads_override_everything(
    two_cpus: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    budget = threads.thread_budget(8, cgroup_root=cgroup_v2(tmp_path, "50000 100000"))
    assert (budget.compute, budget.codec, budget.source) == (8, 2, "--threads")
    assert "8 compute threads" in budget.describe()


HOLDER = """
import sys, time
from pathlib import Path
from animatecli import threads
assert threads._register(Path(sys.argv[1])) is not None
print("registered", flush=True)
time.sleep(60)
"""


def start_holder(folder: Path) -> subprocess.Popen[str]:
    """Another 'animate process': registers in ``folder`` and lives until killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "registered"
    return holder


def test_share_splits_the_budget_between_live_processes(tmp_path: Path) -> None:
    applied: list[int] = []
    budget = threads.ThreadBudget(cpus=4, compute=4, codec=1, source="affinity mask")
    share = threads.ThreadShare(budget, applied.append, folder=tmp_path, interval=0)
    assert share.live_processes() == 1 and share.compute == 4
    holder = start_holder(tmp_path)
    try:
        assert share.rebalance() == 2
        assert share.live_processes() == 2
    finally:
        holder.kill()
        holder.wait()
    # The dead process's lock is gone with it: its file is cleaned up, the threads return.
    assert share.rebalance() == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{os.getpid()}.lock"]
    assert applied == [4, 2, 4]
    # A second pipeline of the process shares its registration (one file, one count).
    again = threads.ThreadShare(budget, applied.append, folder=tmp_path, interval=0)
    assert again.live_processes() == 1 and len(list(tmp_path.iterdir())) == 1


def test_share_never_drops_below_one_thread(tmp_path: Path) -> None:
    budget = threads.ThreadBudget(cpus=1, compute=1, codec=1, source="cgroup quota")
    share = threads.ThreadShare(budget, lambda n: None, folder=tmp_path, interval=0)
    holder = start_holder(tmp_path)
    try:
        assert share.rebalance() == 1
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("source", ["--threads", "OMP_NUM_THREADS"])
def test_a_chosen_count_is_not_shared(tmp_path: Path, source: str) -> None:
    budget = threads.ThreadBudget(cpus=3, compute=3, codec=1, source=source)
    applied: list[int] = []
    share = threads.ThreadShare(budget, applied.append, folder=tmp_path, interval=0)
    holder = start_holder(tmp_path)
    try:
        assert share.rebalance() == 3 and applied == [3]
        assert share.live_processes() == 1  # not registered: invisible to the others
    finally:
        holder.kill()
        holder.wait()
    # Only the holder's (now stale) file: the next counting process removes it.
    assert [p.name for p in tmp_path.iterdir()] == [f"{holder.pid}.lock"]
