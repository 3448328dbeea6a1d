"""The thread budget follows the share of the machine this process is granted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.mark.parametrize("value", ["", "0", "-2", "many", " ", "²"])  # ²: isdigit, not int
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


def test_omp_num_threads_above_the_machine_is_capped(
    two_cpus: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "100000")
    budget = threads.thread_budget(cgroup_root=tmp_path)
    assert (budget.cpus, budget.compute) == (2, 2)
    assert budget.source == "OMP_NUM_THREADS=100000 capped at the affinity mask"
    assert budget.explicit  # still the user's choice: used as given, not shared


# Another "animate process": takes a place in the folder when told "start", gives it back
# on "stop", and lives on until its stdin closes (an idle server between jobs).
HOLDER = """
import sys
from pathlib import Path
from animatecli import threads
budget = threads.ThreadBudget(cpus=4, compute=4, codec=1, source="affinity mask")
share = threads.ThreadShare(budget, lambda n: None, folder=Path(sys.argv[1]), interval=0)
job = None
for line in sys.stdin:
    if line.strip() == "start":
        job = share.computing()
        job.__enter__()
    elif line.strip() == "stop":
        job.__exit__(None, None, None)
    print("ok", flush=True)
"""


class Holder:
    """A second process sharing ``folder``'s budget, driven through its stdin."""

    def __init__(self, folder: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def say(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    other = Holder(tmp_path)
    yield other
    other.kill()


def four_cpus() -> threads.ThreadBudget:
    return threads.ThreadBudget(cpus=4, compute=4, codec=1, source="affinity mask")


def test_an_idle_process_leaves_the_whole_share(tmp_path: Path, holder: Holder) -> None:
    applied: list[int] = []
    share = threads.ThreadShare(four_cpus(), applied.append, folder=tmp_path, interval=0)
    holder.say("start")  # the other process computes a job...
    with share.computing() as first:
        assert first == 2 and share.live == 2
    holder.say("stop")  # ...then goes idle, staying alive (a server between jobs)
    with share.computing() as second:
        assert second == 4 and share.live == 1
        holder.say("start")  # it starts another job: the share rebalances
        assert share.rebalance() == 2
        holder.say("stop")
        assert share.rebalance() == 4
    assert applied == [4, 2, 4, 2, 4]
    assert list(tmp_path.glob("*.lock")) == []  # both idle: no place held


def test_a_dead_process_gives_its_place_back(tmp_path: Path, holder: Holder) -> None:
    share = threads.ThreadShare(four_cpus(), lambda n: None, folder=tmp_path, interval=0)
    holder.say("start")
    with share.computing():
        assert share.live_processes() == 2
        holder.kill()  # the kernel drops its lock; the next count removes its file
        assert share.rebalance() == 4
        assert len(list(tmp_path.glob("*.lock"))) == 1  # this process's own place


def test_jobs_of_one_process_share_one_place(tmp_path: Path) -> None:
    share = threads.ThreadShare(four_cpus(), lambda n: None, folder=tmp_path, interval=0)
    again = threads.ThreadShare(four_cpus(), lambda n: None, folder=tmp_path, interval=0)
    with share.computing(), again.computing():
        assert share.live_processes() == 1 and len(list(tmp_path.glob("*.lock"))) == 1
    assert list(tmp_path.glob("*.lock")) == []


def test_a_failed_job_gives_its_place_back(tmp_path: Path) -> None:
    share = threads.ThreadShare(four_cpus(), lambda n: None, folder=tmp_path, interval=0)
    with pytest.raises(KeyboardInterrupt), share.computing():
        assert len(list(tmp_path.glob("*.lock"))) == 1
        raise KeyboardInterrupt
    assert list(tmp_path.glob("*.lock")) == []


def test_share_never_drops_below_one_thread(tmp_path: Path, holder: Holder) -> None:
    budget = threads.ThreadBudget(cpus=1, compute=1, codec=1, source="cgroup quota")
    share = threads.ThreadShare(budget, lambda n: None, folder=tmp_path, interval=0)
    holder.say("start")
    with share.computing() as compute:
        assert compute == 1 and share.live == 2
        assert "1 compute threads (cgroup quota grants 1 CPUs, shared by 2" in share.describe()


@pytest.mark.parametrize("source", ["--threads", "OMP_NUM_THREADS"])
def test_a_chosen_count_is_not_shared(tmp_path: Path, holder: Holder, source: str) -> None:
    budget = threads.ThreadBudget(cpus=3, compute=3, codec=1, source=source)
    applied: list[int] = []
    share = threads.ThreadShare(budget, applied.append, folder=tmp_path, interval=0)
    holder.say("start")
    with share.computing() as compute:
        assert compute == 3 and applied == [3]
        assert share.live_processes() == 1  # not counted: invisible to the others
        assert len(list(tmp_path.glob("*.lock"))) == 1  # the holder's place only
    assert share.to_dict()["reason"] == f"3 compute threads ({source} grants 3 CPUs, used as given)"
