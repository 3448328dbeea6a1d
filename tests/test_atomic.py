"""The one atomic writer (animatecli.atomic): every output appears whole or not at all,
and what a killed writer leaves is recognised and cleaned up by the next write."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from animatecli.atomic import (
    atomic_output,
    atomic_write_text,
    commit_folder,
    has_live_temporaries,
    host_tag,
    remove_stale_temporaries,
    temp_sibling,
    write_atomically,
)
from animatecli.errors import OutputError, OutputExistsError
from animatecli.paths import NAME_MAX

TESTS = Path(__file__).resolve().parent


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def umask_077() -> Iterator[None]:
    """A restrictive umask (files 0600) for the duration of one test."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def test_the_content_appears_only_at_the_end(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_output(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".out.bin.")
        assert temp.name.endswith(".bin")  # the real extension last, for ffmpeg and Pillow
        assert not temp.exists()  # not created: the writer creates it under the umask
        temp.write_bytes(b"complete")
        assert not target.exists()
    assert target.read_bytes() == b"complete"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_failed_write_leaves_the_old_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    class Interrupted(Exception):
        pass

    with pytest.raises(Interrupted), atomic_output(target) as temp:
        temp.write_text("half")
        raise Interrupted  # propagates unchanged: the caller says what went wrong
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_write_of_a_folder_removes_it(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    with pytest.raises(KeyboardInterrupt), atomic_output(target, suffix="") as temp:
        temp.mkdir()
        (temp / "frame_000000.png").write_bytes(b"x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_an_existing_target_is_refused_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("mine")
    refused = pytest.raises(OutputExistsError, match="pass --overwrite")
    with refused, atomic_output(target, overwrite=False) as temp:
        temp.write_text("theirs")
    assert target.read_text() == "mine"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_target_that_appears_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    refused = pytest.raises(OutputExistsError, match="meanwhile")
    with refused, atomic_output(target, overwrite=False) as temp:
        temp.write_text("ours")
        target.write_text("another run's")
    assert target.read_text() == "another run's"
    assert os.listdir(tmp_path) == ["out.json"]


def test_overwrite_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with atomic_output(target, overwrite=True) as temp:
        temp.write_text("new")
    assert target.read_text() == "new"


@pytest.mark.usefixtures("umask_077")
def test_mode_sets_the_permissions_whatever_the_umask(tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    with atomic_output(model, mode=0o644) as temp:
        temp.write_bytes(b"weights")
    assert stat.S_IMODE(model.stat().st_mode) == 0o644
    # Without a mode the umask applies, as to any file the user's tools write.
    other = tmp_path / "report.json"
    atomic_write_text(other, "{}")
    assert stat.S_IMODE(other.stat().st_mode) == 0o600


def test_write_atomically_reports_os_errors_as_output_errors(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "out.txt"
    with pytest.raises(OutputError, match=f"cannot write {missing}"):
        atomic_write_text(missing, "text")

    def fails(temp: Path) -> None:
        temp.write_text("half")
        raise PermissionError(13, "Permission denied")

    target = tmp_path / "out.txt"
    with pytest.raises(OutputError, match="Permission denied"):
        write_atomically(target, fails)
    assert os.listdir(tmp_path) == []


def test_long_names_are_shortened_within_the_limit(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 120 + ".mp4")  # 244 bytes: no room left for the tag
    temp = temp_sibling(target, ".mp4")
    assert len(os.fsencode(temp.name)) <= NAME_MAX
    assert temp.name.endswith(".tmp.mp4")
    with atomic_output(target) as temp:
        temp.write_bytes(b"v")
    assert target.read_bytes() == b"v"


# A child process that starts a write of TARGET through WRITER and is killed (SIGKILL)
# once the content is written, before the move: what a killed run leaves behind.
KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    from animatecli import atomic

    def killed(temp, target, *, overwrite):
        assert temp.exists()
        os.kill(os.getpid(), signal.SIGKILL)

    atomic.commit = killed
    writer, target = sys.argv[1], Path(sys.argv[2])
    if writer == "text":
        atomic.atomic_write_text(target, "report")
    elif writer == "png":
        from animatecli.media import save_png
        save_png(target, np.zeros((4, 4, 3), np.uint8))
    elif writer == "checkpoint":
        sys.path.insert(0, sys.argv[3])
        from testutil import tiny_model_config
        from animatecli.engine.fomm import FommModel
        from animatecli.training.export import save_checkpoint
        save_checkpoint(target, FommModel(tiny_model_config()), half=True)
    elif writer == "stream":
        with atomic.atomic_output(target, overwrite=False) as temp:
            temp.write_bytes(b"part of a download")
    """
)


@pytest.mark.parametrize(
    ("writer", "name"),
    [
        ("text", "report.json"),
        ("png", "still.png"),
        ("checkpoint", "model.pt"),
        ("stream", "w.pth"),
    ],
)
def test_what_a_killed_writer_leaves_is_cleaned_up(tmp_path: Path, writer: str, name: str) -> None:
    target = tmp_path / name
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, writer, str(target), str(TESTS)],
        capture_output=True,
        text=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert not target.exists()
    (leftover,) = hidden(tmp_path)
    assert leftover.startswith(f".{name}.{host_tag()}-")
    assert not has_live_temporaries(target)  # its writer is gone: not a concurrent run
    # The next write of the same target removes it on the way.
    with atomic_output(target) as temp:
        temp.write_bytes(b"fresh")
    assert os.listdir(tmp_path) == [name]


def test_a_live_writers_temporary_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".out.mp4.{host_tag()}-{other.pid}-0a0a.tmp.mp4"
        elsewhere = tmp_path / ".out.mp4.ffffff-1-0b0b.tmp.mp4"  # another machine's
        mine = temp_sibling(target, ".mp4")  # this process's own
        for path in (live, elsewhere, mine):
            path.write_bytes(b"in progress")
        assert has_live_temporaries(target)
        remove_stale_temporaries(target)
        assert live.exists() and elsewhere.exists() and mine.exists()
    finally:
        other.kill()
        other.wait()
    remove_stale_temporaries(target)
    assert not live.exists()  # its writer is gone now
    assert elsewhere.exists() and mine.exists()


def test_files_that_only_look_like_temporaries_are_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    keep = [
        tmp_path / ".out.mp4.notes",  # not our tag
        tmp_path / ".out.mp4.zzzzzz-1-0a0a.tmp.mp4",  # not a host tag
        tmp_path / ".other.mp4.000000-1-0a0a.tmp.mp4",  # another target's
    ]
    for path in keep:
        path.write_bytes(b"")
    remove_stale_temporaries(target)
    assert all(path.exists() for path in keep)


def test_a_finished_folder_replaces_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    target.mkdir()
    (target / "frame_000000.png").write_bytes(b"old")
    new = temp_sibling(target, "")
    new.mkdir()
    (new / "frame_000000.png").write_bytes(b"new")
    commit_folder(new, target)
    assert (target / "frame_000000.png").read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["frames"]  # the old folder, moved aside, is gone


def test_a_failed_folder_swap_puts_the_old_one_back(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    target.mkdir()
    (target / "frame_000000.png").write_bytes(b"old")
    with pytest.raises(OutputError, match=f"cannot write {target}"):
        commit_folder(tmp_path / ".frames.never-written", target)
    assert (target / "frame_000000.png").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["frames"]
