"""Memory handed back between a job's stages: the face models after the alignment pass,
and the C heap's free pages."""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from testutil import Samples

from animatecli import faces, memory
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime import job as job_module
from animatecli.runtime import marks as marks_module
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


def resident_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status)[1]) * 1024  # type: ignore[index]


def has_malloc_trim() -> bool:
    """Whether this process runs on glibc (the only C library with ``malloc_trim``)."""
    try:
        return hasattr(ctypes.CDLL(None), "malloc_trim")
    except OSError:
        return False


@pytest.mark.skipif(
    not has_malloc_trim() or not Path("/proc/self/status").exists(),
    reason="glibc's malloc_trim and Linux's /proc",
)
def test_freed_heap_blocks_go_back_to_the_system() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 64 MiB in 16 KiB blocks (heap, not mmap), touched; the last one stays allocated so
    # that the freed ones sit below the heap's top, where free() never returns them.
    blocks = [libc.malloc(16 * 1024) for _ in range(4096)]
    for block in blocks:
        ctypes.memset(block, 1, 16 * 1024)
    for block in blocks[:-1]:
        libc.free(block)
    before = resident_bytes()
    memory.release_freed_memory()
    after = resident_bytes()
    libc.free(blocks[-1])
    assert before - after > 32 * 1024 * 1024, (before - after) / 2**20


def test_a_job_frees_its_face_models_before_animating(
    tiny_checkpoint: Path, samples: Samples, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    make_detector = faces.make_detector

    def counting(kind: str, **kwargs: Any) -> Any:
        built.append(kind)
        return make_detector(kind, **kwargs)

    monkeypatch.setattr(faces, "make_detector", counting)
    runtime = Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))
    options = AnimateOptions(align="best", crop_source="off")
    per_job = []
    for name in ("a.mp4", "b.mp4"):
        job = AnimationJob(runtime, options)
        result = job.run(ROOT / "examples" / "source.png", samples.v25, tmp_path / name)
        assert result.frames == 25 and (tmp_path / name).stat().st_size > 0
        per_job.append(list(built))
        built.clear()
    # Each job loads the face detectors it needs again: the last job freed its own.
    assert per_job[0] and per_job[1] == per_job[0]


def test_a_job_hands_the_frames_memory_back_before_sealing(
    tiny_checkpoint: Path, samples: Samples, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seal (C2PA signing) loads its library and hashes the file after the frames:
    their freed buffers must be gone by then, or the job's peak comes at its end."""
    events: list[str] = []
    monkeypatch.setattr(job_module, "release_freed_memory", lambda: events.append("release"))
    sign = marks_module.sign_mp4

    def signing(*args: Any, **kwargs: Any) -> Any:
        events.append("seal")
        return sign(*args, **kwargs)

    monkeypatch.setattr(marks_module, "sign_mp4", signing)
    animate = job_module.animate_frames

    def animating(*args: Any, **kwargs: Any) -> Any:
        frames = animate(*args, **kwargs)
        events.append("frames")
        return frames

    monkeypatch.setattr(job_module, "animate_frames", animating)
    runtime = Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))
    out = tmp_path / "out.mp4"
    AnimationJob(runtime, AnimateOptions(crop_source="off")).run(
        ROOT / "examples" / "source.png", samples.v25, out
    )
    assert out.stat().st_size > 0
    assert events[-3:] == ["frames", "release", "seal"]


def test_periodic_release_waits_its_interval_between_releases() -> None:
    now = [100.0]
    released: list[float] = []
    release = memory.PeriodicRelease(
        2.0, release=lambda: released.append(now[0]), clock=lambda: now[0]
    )
    for t in (100.5, 101.9, 102.1, 103.0, 104.0, 104.2, 110.0):
        now[0] = t
        release()
    assert released == [102.1, 104.2, 110.0]


def test_a_job_hands_freed_memory_back_while_animating(
    tiny_checkpoint: Path, samples: Samples, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long video's frames leave holes in the heap; the animate loop trims them every
    few seconds (here every step) instead of only between stages."""
    from animatecli.runtime import animate as animate_module

    released: list[int] = []

    def every_step(interval: float = 10.0, **kwargs: Any) -> memory.PeriodicRelease:
        return memory.PeriodicRelease(0.0, release=lambda: released.append(1))

    monkeypatch.setattr(animate_module, "PeriodicRelease", every_step)
    runtime = Runtime(ModelOptions(checkpoint=tiny_checkpoint, device="cpu"))
    options = AnimateOptions(crop_source="off", batch_size=4)
    result = AnimationJob(runtime, options).run(
        ROOT / "examples" / "source.png", samples.v25, tmp_path / "out.mp4"
    )
    assert result.frames == 25
    # One release after each batch but the first (which has its own): ⌈25/4⌉ − 1.
    assert len(released) == 6


# Run in a fresh process: glibc consults its mmap threshold only when the heap has no free
# room for a block, and this test process's heap has holes of every size by now.
_MAPPED_BY_A_BLOCK = """
import ctypes, json
from animatecli import memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mapped_by_a_block(size):
    before = libc.mallinfo2().hblkhd  # bytes in blocks with their own mappings
    block = libc.malloc(size)
    mapped = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return mapped

large, small = 12 << 20, 1 << 20  # over and under the generator's 8 MiB
with memory.large_blocks_mapped():
    inside = [mapped_by_a_block(large), mapped_by_a_block(small)]
print(json.dumps({"inside": inside, "outside": mapped_by_a_block(large)}))
"""


def has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")  # glibc 2.33 and later
    except OSError:
        return False


@pytest.mark.skipif(not has_mallinfo2(), reason="glibc's mallinfo2")
def test_inside_the_scope_large_blocks_get_their_own_mappings() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _MAPPED_BY_A_BLOCK], capture_output=True, text=True, check=True
    )
    measured = json.loads(run.stdout)
    large_inside, small_inside = measured["inside"]
    assert large_inside >= 12 << 20
    assert small_inside == 0
    # Back in the heap (under glibc's 32 MiB ceiling), where its own rule puts it too.
    assert measured["outside"] == 0


def test_the_scope_is_lowered_once_for_overlapping_users_and_raised_by_the_last() -> None:
    """Jobs of one server animate side by side: the threshold stays low until the last
    generator call leaves, and is raised even when that call fails."""
    calls: list[tuple[int, int]] = []

    def record(option: int, value: int) -> int:
        calls.append((option, value))
        return 1

    low = (memory.M_MMAP_THRESHOLD, memory.GENERATOR_MMAP_THRESHOLD)
    high = (memory.M_MMAP_THRESHOLD, memory.HEAP_MMAP_THRESHOLD)
    with memory.large_blocks_mapped(set_option=record):
        with memory.large_blocks_mapped(set_option=record):
            assert calls == [low]
        assert calls == [low]
    assert calls == [low, high]
    calls.clear()
    with pytest.raises(RuntimeError), memory.large_blocks_mapped(set_option=record):
        raise RuntimeError("a failed frame")
    assert calls == [low, high]


def test_huge_pages_are_requested_unless_the_user_chose() -> None:
    environ: dict[str, str] = {}
    memory.request_huge_pages(environ)
    assert environ == {memory.TORCH_HUGE_PAGES: "1"}
    chosen = {memory.TORCH_HUGE_PAGES: "0"}
    memory.request_huge_pages(chosen)
    assert chosen == {memory.TORCH_HUGE_PAGES: "0"}


# The entry point with an import hook that notes the setting when torch starts loading.
_ENTRY_POINT = """
import os, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("THP_MEM_ALLOC_ENABLE"))
        return None
sys.meta_path.insert(0, Watch())
sys.argv = ["animate", "doctor", "--json"]  # loads torch to report on it
from animatecli.__main__ import main
try:
    main()
except SystemExit:
    pass
print(seen)
"""


@pytest.mark.parametrize(("chosen", "expected"), [(None, "1"), ("0", "0")])
def test_the_entry_point_asks_for_huge_pages_before_torch_loads(
    tmp_path: Path, chosen: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != memory.TORCH_HUGE_PAGES}
    if chosen is not None:
        env[memory.TORCH_HUGE_PAGES] = chosen
    run = subprocess.run(
        [sys.executable, "-c", _ENTRY_POINT],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    assert run.stdout.split("\n")[-2] == repr([expected])
