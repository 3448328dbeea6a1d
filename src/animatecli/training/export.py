"""Turn a finished training run into the shipped checkpoint with provenance metadata."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..atomic import write_atomically
from ..engine import MotionModel, checkpoint_payload, load_checkpoint
from ..engine.fomm import FommModel
from .evaluate import evaluate_reconstruction
from .trainer import TrainConfig, load_state

DEMO_CHECKPOINT = (
    Path(__file__).resolve().parents[3] / "checkpoints" / "animatecli-synthetic-128.pt"
)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: MotionModel,
    metadata: Mapping[str, Any] | None = None,
    *,
    half: bool = False,
) -> None:
    """Write ``model`` in our format (see `animatecli.engine.checkpoint_payload`) to
    ``path``, atomically, creating its folder; ``half`` stores float weights as fp16.

    The file is 0644 whatever the umask: a model file is not a secret. Raises
    `OutputError` if it cannot be written.
    """
    path = Path(path)
    payload = checkpoint_payload(model, metadata, half=half)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temp: torch.save(payload, temp), mode=0o644)


def export_demo_model(
    run_dir: Path,
    config: TrainConfig,
    *,
    wall_seconds: float | None = None,
    output: Path = DEMO_CHECKPOINT,
) -> dict[str, object]:
    """Evaluate the run's model on held-out videos and write ``output`` (fp16 weights)."""
    state = load_state(run_dir, config)
    if state is None:
        raise FileNotFoundError(f"no training state in {run_dir}")
    model: FommModel = state.model.eval()
    with torch.no_grad():
        # Evaluate the weights as they will ship: rounded to fp16 storage.
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    scores = evaluate_reconstruction(model)
    last = state.history[-1] if state.history else {}
    metadata: dict[str, object] = {
        "name": "animatecli synthetic talking heads",
        "domain": "procedural cartoon talking heads (animatecli.training.synthetic)",
        "generator_version": __version__,
        "trained_with": f"torch {torch.__version__}, Python {platform.python_version()}",
        "seed": config.seed,
        "steps": state.step,
        "batch_size": config.batch_size,
        "train_seconds": round(state.seconds, 1),
        "wall_seconds": None if wall_seconds is None else round(wall_seconds, 1),
        "train_config": {k: v for k, v in asdict(config).items() if k != "model"},
        "final_losses": {k: round(v, 5) for k, v in last.items() if k != "step"},
        "evaluation": {k: round(v, 5) for k, v in scores.to_dict().items()},
    }
    # fp16 storage halves the file; weights are promoted back to float32 on load.
    save_checkpoint(output, model, metadata, half=True)
    reloaded = load_checkpoint(output)
    assert reloaded.config == model.config
    assert reloaded.align_corners == model.align_corners
    print(
        f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB): L1 {scores.l1:.4f} vs "
        f"copy-source {scores.copy_source_l1:.4f} (ratio {scores.ratio:.2f}), "
        f"AKD {scores.akd_pixels:.2f} px"
    )
    return metadata
