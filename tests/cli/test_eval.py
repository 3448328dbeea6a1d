"""``animate eval``: reconstruction scores of a checkpoint, raw and smoothed, and the jitter of
the astronaut video with smoothing off and on."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from animatecli.cli import app


def test_eval_command(tiny_checkpoint: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "--checkpoint", str(tiny_checkpoint), "--videos", "1", "--frames", "3", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["frames"] == 3 and scores["copy_source_l1"] > 0
    # Scores with --smooth auto too, and its effect on the jittery astronaut video.
    assert scores["smoothed"]["frames"] == 3
    assert scores["smoothed"]["copy_source_l1"] == scores["copy_source_l1"]
    assert set(scores["jitter"]) == {"off", "auto"}
    assert scores["jitter"]["auto"]["jitter_px"] < scores["jitter"]["off"]["jitter_px"]
