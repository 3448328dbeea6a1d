"""``animate doctor``: what this installation can do."""

from __future__ import annotations

from .. import __version__, catalogue
from ..options import ModelOptions
from ..reporting import stderr_console
from .app import app, emit_json, user_errors
from .declarations import CheckpointOpt, ConfigOpt, JsonOpt


@app.command("doctor")
def doctor_command(
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Check torch, CUDA, ffmpeg, the model that would be used and face-alignment weights."""
    # Loading torch takes seconds: say at once what is going on (on a terminal only).
    checking = f"animatecli {__version__}: checking torch, CUDA, ffmpeg and the model ..."
    with user_errors():
        # A catalogue model that is not fetched: the exact command, not a report.
        catalogue.require_cached(checkpoint)
    with user_errors(), stderr_console.status(checking):
        from ..doctor import collect, render

        # The model as every command loads it (models.load_model), on the CPU.
        report = collect(ModelOptions(checkpoint=checkpoint, config=config, device="cpu"))
    if json_output:
        emit_json(report)
    else:
        from rich.console import Console

        render(report, Console())
