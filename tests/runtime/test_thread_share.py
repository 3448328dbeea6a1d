"""An idle process that embeds the runtime (a server, a notebook) costs other jobs nothing:
it counts in the machine's thread share only while one of its jobs runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testutil import ffmpeg

from animatecli import threads

# A long-lived process that runs one job on a runtime, says so, and then stays alive and
# idle (as `animate serve` does between jobs) until its stdin closes.
SERVER_LIKE = """
import sys
from pathlib import Path
from animatecli.options import AnimateOptions, ModelOptions
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime
checkpoint, source, driving, output = sys.argv[1:5]
runtime = Runtime(ModelOptions(checkpoint=Path(checkpoint), device="cpu"))
options = AnimateOptions(align="first", crop_source="off", crop_driving="off")
result = AnimationJob(runtime, options).run(Path(source), Path(driving), Path(output))
print(result.threads["computing_jobs"], flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(threads.affinity_cpus() < 2, reason="a share needs two CPUs to split")
def test_an_idle_server_leaves_a_job_the_whole_share(
    tiny_checkpoint: Path, samples: object, tmp_path: Path
) -> None:
    # A temp folder of the test's own: its live folder sees only these two processes.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("OMP_NUM_THREADS", None)
    driving = samples.v25  # type: ignore[attr-defined]
    source = tmp_path / "source.png"
    ffmpeg("-i", str(driving), "-frames:v", "1", str(source))
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER_LIKE,
            str(tiny_checkpoint),
            str(source),
            str(driving),
            str(tmp_path / "first.mp4"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "1"  # its job ran alone
        # The server is alive and idle now: a job started beside it gets every thread.
        job = subprocess.run(
            [
                sys.executable,
                "-m",
                "animatecli",
                str(source),
                str(driving),
                "-o",
                str(tmp_path / "second.mp4"),
                "--checkpoint",
                str(tiny_checkpoint),
                "--align",
                "first",
                "--crop-source",
                "off",
                "--crop-driving",
                "off",
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        report = json.loads(job.stdout)["threads"]
        assert report["computing_jobs"] == 1
        assert report["compute"] == report["cpus"]  # the whole share, not half of it
        assert report["reason"].endswith("shared by 1 computing job)")
        assert list((tmp_path / "animatecli-live").glob("*.lock")) == []
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=30)
