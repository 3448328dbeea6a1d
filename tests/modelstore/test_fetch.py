"""``animate models fetch NAME``: resumable, verified, mirror after mirror, against a
server on 127.0.0.1 that the test starts (small files, hashes injected in the catalogue)."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from animatecli import catalogue, downloads, store
from animatecli.catalogue import CatalogueEntry
from animatecli.cli import app
from animatecli.errors import DownloadError, InputError

from .modelstore_testutil import Route, WeightsServer, entry_for, payload, start_animate

runner = CliRunner()
DATA = payload(1, 300_000)
SHA = hashlib.sha256(DATA).hexdigest()
Install = Callable[..., None]


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["models", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def error_lines(stderr: str) -> list[str]:
    """The error lines of stderr (notices such as "note: MIRROR: why; trying the next
    mirror" come before); the error, if any, is the last line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert not errors or lines[-1] == errors[-1]
    return errors


def cache_files(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


class Interrupter:
    """A reporter that presses Ctrl-C once ``after`` bytes have arrived."""

    def __init__(self, after: int):
        self.after = after
        self.seen = 0

    def notice(self, message: str) -> None:
        pass

    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        self.seen += count
        if self.seen >= self.after:
            raise KeyboardInterrupt

    def finish(self) -> None:
        pass


def test_a_cut_connection_resumes_where_it_stopped(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    url = weights_server.serve("a/model.pth.tar", Route(DATA, mode="cut", cut_at=0.4))
    use_catalogue(entry_for("test-face", DATA, (url,)))
    code, stdout, stderr = cli("fetch", "test-face", "--json")
    assert code == 0, stderr
    (fetched,) = json.loads(stdout)["files"]
    assert fetched["status"] == "downloaded" and fetched["url"] == url
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA
    # The second request asked for the rest only: bytes from the cut on.
    cut = int(0.4 * len(DATA))
    assert weights_server.ranges_asked("a/model.pth.tar") == [None, f"bytes={cut}-"]
    assert cache_files(animate_home) == ["test-face.pth.tar"]
    # Again: verified in the cache, nothing requested.
    code, stdout, _ = cli("fetch", "test-face", "--json")
    assert code == 0 and json.loads(stdout)["files"][0]["status"] == "cached"
    assert len(weights_server.requests) == 2


def test_first_mirror_404_then_the_second(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    missing = weights_server.serve("gone.pth.tar", Route(mode="404"))
    good = weights_server.serve("good.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (missing, good)))
    code, stdout, stderr = cli("fetch", "test-face", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["files"][0]["url"] == good
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA


def test_wrong_hash_on_every_mirror_is_one_line_and_caches_nothing(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    other = payload(2, len(DATA))  # right size, wrong content
    first = weights_server.serve("m1.pth.tar", Route(other))
    second = weights_server.serve("m2.pth.tar", Route(other))
    use_catalogue(entry_for("test-face", DATA, (first, second)))
    code, _, stderr = cli("fetch", "test-face")
    (line,) = error_lines(stderr)
    assert code == 1 and line.count("corrupt") == 2 and "nothing was saved" in line
    assert f"note: {first}: corrupt" in stderr and "trying the next" in stderr
    assert first in line and second in line
    assert cache_files(animate_home) == []


def test_wrong_size_is_refused_before_downloading(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    bigger = weights_server.serve("big.pth.tar", Route(DATA + b"x" * 10))
    good = weights_server.serve("good.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (bigger, good)))
    fetched = store.fetch_models(["test-face"])
    assert fetched[0].files[0].url == good
    assert cache_files(animate_home) == ["test-face.pth.tar"]


@pytest.mark.parametrize("mode", ["html", "html-octet"])
def test_an_html_page_is_not_the_file(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install, mode: str
) -> None:
    page = weights_server.serve("drive.pth.tar", Route(mode=mode))
    use_catalogue(entry_for("test-face", DATA, (page,)))
    code, _, stderr = cli("fetch", "test-face")
    (line,) = error_lines(stderr)
    assert code == 1 and "HTML page" in line and "nothing was saved" in line
    assert cache_files(animate_home) == []
    # With a good mirror after it, the page is skipped.
    good = weights_server.serve("good.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (page, good)))
    assert cli("fetch", "test-face")[0] == 0
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA


def test_a_stalled_mirror_gives_way_to_the_next(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    stalled = weights_server.serve("stall.pth.tar", Route(DATA, mode="stall", cut_at=0.3))
    use_catalogue(entry_for("test-face", DATA, (stalled,)))
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"stalled \(no data for 0.5 s\)") as raised:
        store.fetch_models(["test-face"], stall_seconds=0.5)
    assert time.monotonic() - started < 10
    # What came before the stall is kept, to be resumed (from another mirror here).
    assert "kept" in str(raised.value)
    partial = animate_home / ".test-face.pth.tar.part"
    assert partial.stat().st_size == int(0.3 * len(DATA))
    good = weights_server.serve("good.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (stalled, good)))
    (result,) = store.fetch_models(["test-face"], stall_seconds=0.5)
    assert result.files[0].url == good
    assert weights_server.ranges_asked("good.pth.tar") == [f"bytes={int(0.3 * len(DATA))}-"]
    assert cache_files(animate_home) == ["test-face.pth.tar"]
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA


def test_ctrl_c_keeps_a_partial_file_that_the_next_run_resumes(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    url = weights_server.serve("m.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (url,)))
    with pytest.raises(KeyboardInterrupt):
        store.fetch_models(["test-face"], Interrupter(after=100_000))
    assert cache_files(animate_home) == [".test-face.pth.tar.part"]  # no final file, no lock
    kept = (animate_home / ".test-face.pth.tar.part").stat().st_size
    assert 100_000 <= kept < len(DATA)
    (result,) = store.fetch_models(["test-face"])
    assert result.files[0].status == "downloaded"
    assert weights_server.ranges_asked("m.pth.tar") == [None, f"bytes={kept}-"]
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA
    assert cache_files(animate_home) == ["test-face.pth.tar"]


def test_a_partial_file_from_elsewhere_is_dropped_once_its_hash_fails(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    url = weights_server.serve("m.pth.tar", Route(DATA))
    use_catalogue(entry_for("test-face", DATA, (url,)))
    animate_home.mkdir(parents=True)
    (animate_home / ".test-face.pth.tar.part").write_bytes(b"\0" * 1000)
    (result,) = store.fetch_models(["test-face"])
    assert result.files[0].status == "downloaded"
    assert weights_server.ranges_asked("m.pth.tar") == ["bytes=1000-", None]
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA


def test_sigint_in_a_real_process_then_resume(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    url = weights_server.serve("slow.pth.tar", Route(DATA, delay=0.05))
    entries = [entry_for("test-face", DATA, (url,))]
    proc = start_animate(["models", "fetch", "test-face"], entries, animate_home)
    partial = animate_home / ".test-face.pth.tar.part"
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size >= 50_000):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and error_lines(stderr) == ["error: interrupted"]
    assert cache_files(animate_home) == [".test-face.pth.tar.part"]
    kept = partial.stat().st_size
    assert 50_000 <= kept < len(DATA)
    weights_server.routes["slow.pth.tar"].delay = 0.0
    use_catalogue(*entries)
    code, _, stderr = cli("fetch", "test-face", "--json")
    assert code == 0, stderr
    assert weights_server.ranges_asked("slow.pth.tar")[-1] == f"bytes={kept}-"
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA


def test_two_processes_fetching_one_model_download_it_once(
    weights_server: WeightsServer, animate_home: Path
) -> None:
    # About 3 s of download: the two runs overlap (each starts in about a second).
    url = weights_server.serve("slow.pth.tar", Route(DATA, delay=0.15))
    entries = [entry_for("test-face", DATA, (url,))]
    args = ["models", "fetch", "test-face", "--json"]
    procs = [start_animate(args, entries, animate_home) for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    by_status = {json.loads(out)["files"][0]["status"]: err for out, err in outputs}
    assert sorted(by_status) == ["cached", "downloaded"]
    assert "waiting for another download of test-face.pth.tar" in by_status["cached"]
    assert len(weights_server.requests) == 1
    assert (animate_home / "test-face.pth.tar").read_bytes() == DATA
    assert cache_files(animate_home) == ["test-face.pth.tar"]


def test_disk_full_is_one_line_and_leaves_no_file(
    weights_server: WeightsServer, animate_home: Path
) -> None:
    """A real write failure: the child's file-size limit (RLIMIT_FSIZE) is below the file's
    size, so the kernel refuses the write (EFBIG, as ENOSPC would be on a full disk)."""
    import resource

    url = weights_server.serve("m.pth.tar", Route(DATA))
    entries = [entry_for("test-face", DATA, (url,))]

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    proc = start_animate(
        ["models", "fetch", "test-face"], entries, animate_home, preexec_fn=limit_file_size
    )
    _, stderr = proc.communicate(timeout=120)
    (line,) = error_lines(stderr)
    assert proc.returncode == 1 and "no space left" in line and "nothing was saved" in line
    assert cache_files(animate_home) == []


def test_from_url_is_still_hash_checked(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    use_catalogue(entry_for("test-face", DATA, ("http://127.0.0.1:9/never-tried",)))
    wrong = weights_server.serve("mine-wrong.pth.tar", Route(payload(3, len(DATA))))
    code, _, stderr = cli("fetch", "test-face", "--from", wrong)
    assert code == 1 and "corrupt" in error_lines(stderr)[0]
    mine = weights_server.serve("mine.pth.tar", Route(DATA))
    code, stdout, stderr = cli("fetch", "test-face", "--from", mine, "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["files"][0]["url"] == mine
    assert [p for p, _ in weights_server.requests] == ["mine-wrong.pth.tar", "mine.pth.tar"]
    code, _, stderr = cli("fetch", "test-face", "--from", "ftp://somewhere/x")
    assert code == 2 and "--from must be an http" in stderr


def test_unknown_names_and_no_network_failures(animate_home: Path, use_catalogue: Install) -> None:
    use_catalogue(entry_for("test-face", DATA, ("http://127.0.0.1:9/refused.pth.tar",)))
    code, _, stderr = cli("fetch", "nope")
    assert code == 2 and "can fetch: face-alignment, test-face" in stderr
    code, _, stderr = cli("fetch", "test-face")
    (line,) = error_lines(stderr)
    assert code == 1 and "cannot download test-face.pth.tar" in line
    assert cache_files(animate_home) == []


def test_a_garbage_weights_base_url_is_one_line(
    empty_torch_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(downloads.BASE_URL_ENV, "not a url")
    code, _, stderr = cli("fetch", "face-alignment")
    (line,) = error_lines(stderr)
    assert code == 2 and "ANIMATE_WEIGHTS_BASE_URL must be an http" in line
    with pytest.raises(InputError):
        downloads.weight_files("face-alignment")


def test_list_path_and_rm(
    weights_server: WeightsServer, animate_home: Path, use_catalogue: Install
) -> None:
    url = weights_server.serve("m.pth.tar", Route(DATA))
    entries: list[CatalogueEntry] = [
        entry_for("test-face", DATA, (url,)),
        entry_for("test-body", b"x" * 10, (url,), domain="body", licence="CC BY-NC 4.0"),
    ]
    use_catalogue(*entries)
    code, stdout, _ = cli("list", "--json")
    listed = json.loads(stdout)
    assert code == 0 and listed["cache"] == str(animate_home)
    assert [(m["name"], m["cached"]) for m in listed["models"]] == [
        ("test-face", False),
        ("test-body", False),
    ]
    code, _, stderr = cli("path", "test-face")
    assert code == 2 and "`animate models fetch test-face`" in stderr
    assert cli("fetch", "test-face")[0] == 0
    code, stdout, _ = cli("path", "test-face")
    assert code == 0 and stdout.strip() == str(animate_home / "test-face.pth.tar")
    code, stdout, _ = cli("list")
    assert code == 0 and "test-face" in stdout and "CC BY-NC 4.0" in stdout
    assert str(animate_home) in " ".join(stdout.split()) or "animate_home" in stdout
    code, stdout, _ = cli("rm", "test-face", "--json")
    assert code == 0 and json.loads(stdout)["removed"] == [str(animate_home / "test-face.pth.tar")]
    assert cache_files(animate_home) == []
    assert cli("path", "test-face")[0] == 2
    assert cli("rm", "nope")[0] == 2


def test_the_real_catalogue_is_listed_without_a_cache(tmp_path: Path) -> None:
    env_home = tmp_path / "fresh"
    result = runner.invoke(app, ["models", "list", "--json"], env={"ANIMATE_HOME": str(env_home)})
    models = {m["name"]: m for m in json.loads(result.stdout)["models"]}
    names = ["fomm-vox", "fomm-vox-adv", "fomm-taichi-adv", "tpsmm-vox", "tpsmm-taichi"]
    assert list(models) == names
    assert models["fomm-vox"]["size"] == 728_766_691
    assert models["tpsmm-vox"]["size"] == models["tpsmm-taichi"]["size"] == 350_993_469
    assert models["fomm-taichi-adv"]["size"] is None
    assert {m["domain"] for n, m in models.items() if "taichi" in n} == {"body"}
    assert not any(m["cached"] for m in models.values())
    assert not env_home.exists()  # listing writes nothing


def test_the_cache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("ANIMATE_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert catalogue.models_dir() == tmp_path / "user" / ".cache" / "animatecli" / "models"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert catalogue.models_dir() == tmp_path / "xdg" / "animatecli" / "models"
    monkeypatch.setenv("ANIMATE_HOME", str(tmp_path / "mine"))
    assert catalogue.models_dir() == tmp_path / "mine" / "models"
