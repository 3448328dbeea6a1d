"""``animate eval``: reconstruction and smoothing scores of a model."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import catalogue
from ..options import ModelOptions
from .app import app, emit_json, user_errors
from .declarations import CheckpointOpt, ConfigOpt, JsonOpt

# The scores are streamed (flat memory), but time grows with these: an hour of video
# per held-out clip and a thousand clips are far past any useful score.
EVAL_FRAMES_MAX = 90_000
EVAL_VIDEOS_MAX = 1000


@app.command("eval")
def eval_command(
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    videos: Annotated[int, typer.Option(min=1, max=EVAL_VIDEOS_MAX, help="Held-out videos.")] = 8,
    frames: Annotated[
        int, typer.Option(min=2, max=EVAL_FRAMES_MAX, help="Frames per video.")
    ] = 100,
    json_output: JsonOpt = False,
) -> None:
    """Reconstruction scores on held-out synthetic videos (FOMM's protocol), and the
    effect of --smooth on a jittery real face; each without and with smoothing."""
    with user_errors():
        catalogue.require_cached(checkpoint)  # before torch loads
    from rich.table import Table

    from ..models import load_model
    from ..training.evaluate import evaluate_reconstruction
    from ..training.jitter import score_smoothing_on_astronaut

    with user_errors():
        from ..engine import OneEuroSettings

        # The model as every command loads it; the scores are measured on the CPU.
        loaded, _, _ = load_model(ModelOptions(checkpoint=checkpoint, config=config, device="cpu"))
        path = loaded.path
        scores = evaluate_reconstruction(loaded.model, videos=videos, frames=frames)
        smoothed = evaluate_reconstruction(
            loaded.model, videos=videos, frames=frames, smoothing=OneEuroSettings()
        )
        jitter = {
            name: score_smoothing_on_astronaut(loaded.model, settings)
            for name, settings in (("off", None), ("auto", OneEuroSettings()))
        }
    if json_output:
        emit_json(
            {
                "checkpoint": str(path),
                **scores.to_dict(),
                "smoothed": smoothed.to_dict(),
                "jitter": {name: s.to_dict() for name, s in jitter.items()},
            }
        )
        return
    from rich.console import Console

    console = Console()
    table = Table(title=f"reconstruction on {videos} held-out videos x {frames} frames")
    for column in ("--smooth", "model L1", "copy-source L1", "ratio", "AKD (px)"):
        table.add_column(column, justify="right")
    for name, row in (("off", scores), ("auto", smoothed)):
        table.add_row(
            name,
            f"{row.l1:.4f}",
            f"{row.copy_source_l1:.4f}",
            f"{row.ratio:.3f}",
            f"{row.akd_pixels:.2f}",
        )
    console.print(table)
    table = Table(title="jittery astronaut video: keypoint jitter and lag, output flicker")
    for column in ("--smooth", "jitter on still (px)", "lag on pans (frames)", "flicker"):
        table.add_column(column, justify="right")
    for name, row in jitter.items():
        table.add_row(name, f"{row.jitter_px:.2f}", f"{row.lag_frames:.2f}", f"{row.flicker:.4f}")
    console.print(table)
