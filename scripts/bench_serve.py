"""``make bench`` (web page): page load time and job overhead of ``animate serve`` vs the CLI.

Every row runs the bundled example (examples/source.png + examples/driving.mp4, 125 frames,
default options) and reports the median of ``--repeats`` runs, interleaved so that a busy
machine slows every row alike:

* CLI process: ``animate SOURCE DRIVING -o OUT`` from process start to exit (imports, model
  loading, the job);
* CLI job: the pipeline's own time from the same runs (``--json`` ``seconds``);
* web job, fresh server: from the upload (``POST /api/jobs`` with both files) to the ``done``
  event, on a server that has not loaded the model yet;
* web job, warm server: the same on a server that has run a job before;
* idle server: a CLI job's animate stage alone, and beside a server that ran one job and
  went idle (with the machine's thread share, ``OMP_NUM_THREADS`` unset): an idle server
  should cost other jobs nothing.

The page load is Chromium's Navigation Timing ``loadEventEnd`` (headless, system Chromium;
skipped with a message when it is not installed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SOURCE, DRIVING = ROOT / "examples" / "source.png", ROOT / "examples" / "driving.mp4"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


class Server:
    """``animate serve --port 0`` in a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "animatecli", "serve", "--port", "0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.port = int(found[1])
                return
        raise RuntimeError("animate serve did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def job_seconds(self) -> float:
        """Upload the example, follow the job to its end: wall seconds."""
        boundary = "bench-boundary"
        body = b""
        for field, path in (("source", SOURCE), ("driving", DRIVING)):
            body += (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                    f'filename="{path.name}"\r\n\r\n'
                ).encode()
                + path.read_bytes()
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(
            "POST",
            "/api/jobs",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        job_id = json.loads(conn.getresponse().read())["id"]
        conn.request("GET", f"/api/jobs/{job_id}/events")
        events = conn.getresponse()
        while True:
            line = events.readline().decode()
            if line.startswith("data: "):
                status = json.loads(line[6:])
                if status["state"] == "done":
                    break
                if status["state"] in ("failed", "cancelled"):
                    raise RuntimeError(status["error"] or status["state"])
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)


def cli_run(workdir: Path) -> tuple[float, float]:
    """Wall seconds of one ``animate`` process, and its job's own seconds."""
    started = time.perf_counter()
    report = cli_job(workdir)
    return time.perf_counter() - started, report["seconds"]


def cli_job(workdir: Path) -> dict:
    """One ``animate`` run of the example: its ``--json`` report."""
    proc = subprocess.run(
        [sys.executable, "-m", "animatecli", str(SOURCE), str(DRIVING), "-o",
         str(workdir / "out.mp4"), "-y", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


def idle_server_rows(workdir: Path, repeats: int) -> tuple[list[float], list[float]]:
    """Animate-stage seconds of CLI jobs alone and beside an idle warm server, in turns,
    with the thread share on (``OMP_NUM_THREADS`` would make every count explicit)."""
    chosen = os.environ.pop("OMP_NUM_THREADS", None)
    alone: list[float] = []
    beside: list[float] = []
    try:
        for _ in range(repeats):
            alone.append(cli_job(workdir)["stage_seconds"]["animate"])
            server = Server()
            try:
                server.job_seconds()  # one job from the page, then idle
                beside.append(cli_job(workdir)["stage_seconds"]["animate"])
            finally:
                server.stop()
    finally:
        if chosen is not None:
            os.environ["OMP_NUM_THREADS"] = chosen
    return alone, beside


def page_load_seconds(url: str, loads: int) -> list[float] | str:
    """``loadEventEnd`` of ``loads`` fresh navigations, or why it was not measured."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return "chromium and chromium-driver are not installed"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     f"--user-data-dir={profile}"):  # fmt: skip
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            seconds = []
            for visit in range(loads):  # the first with an empty cache, then reloads
                if visit == 0:
                    driver.get(url)
                else:
                    driver.refresh()
                seconds.append(
                    driver.execute_async_script(
                        """const done = arguments[0];
                        const poll = () => {
                            const [n] = performance.getEntriesByType('navigation');
                            n && n.loadEventEnd ? done(n.loadEventEnd) : setTimeout(poll, 20);
                        };
                        poll();"""
                    )
                    / 1000
                )
            return seconds
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only-idle", action="store_true", help="only the idle-server rows")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        alone, beside = idle_server_rows(Path(tmp), args.repeats)
    console.print(
        f"animate stage of a CLI job: alone {statistics.median(alone):.2f} s, beside an idle "
        f"server that ran one job {statistics.median(beside):.2f} s "
        f"({statistics.median(beside) / statistics.median(alone):.2f}×; median of {args.repeats})"
    )
    if args.only_idle:
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    rows: dict[str, list[float]] = {k: [] for k in ("cli", "cli_job", "web_fresh", "web_warm")}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Server()
        warm.job_seconds()  # loads the model
        try:
            for _ in range(args.repeats):
                wall, job = cli_run(Path(tmp))
                rows["cli"].append(wall)
                rows["cli_job"].append(job)
                fresh = Server()
                rows["web_fresh"].append(fresh.job_seconds())
                fresh.stop()
                rows["web_warm"].append(warm.job_seconds())
            loads = page_load_seconds(warm.url, 6)
        finally:
            warm.stop()

    median = {k: statistics.median(v) for k, v in rows.items()}
    table = Table(title=f"bundled example, 125 frames; median of {args.repeats}")
    for column in ("run", "seconds", "vs CLI process"):
        table.add_column(column, justify="right" if column != "run" else "left")
    names = {
        "cli": "CLI process (start to exit)",
        "cli_job": "CLI job (AnimationJob.run)",
        "web_fresh": "web job, fresh server (upload to done)",
        "web_warm": "web job, warm server (upload to done)",
    }
    for key, name in names.items():
        table.add_row(name, f"{median[key]:.2f}", f"{median[key] / median['cli']:.2f}×")
    console.print(table)
    console.print(
        f"web overhead on a warm server: {median['web_warm'] - median['cli_job']:+.2f} s "
        "against the CLI's own job time"
    )
    if isinstance(loads, str):
        console.print(f"page load: not measured ({loads})")
    else:
        console.print(
            f"page load (loadEventEnd): first visit {loads[0] * 1000:.0f} ms, reloads median "
            f"{statistics.median(loads[1:]) * 1000:.0f} ms of {len(loads) - 1}"
        )


if __name__ == "__main__":
    main()
