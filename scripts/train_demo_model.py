"""Train the bundled demo model from scratch (``make demo-model``).

Resumable: rerunning continues from ``runs/demo-model/train_state.pt``. When training
ends, the model is evaluated on held-out synthetic videos and exported to
``checkpoints/`` with its provenance and evaluation numbers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from animatecli.training.trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
# The shipped recipe: 13,000 steps with BatchNorm on batch statistics (the rate 10x lower
# for the last 15% of them), then a phase with BatchNorm frozen to its running statistics.
RECIPE_STEPS = 13000
RECIPE_FROZEN_STEPS = 1700


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--steps",
        type=int,
        default=RECIPE_STEPS,
        help="steps with BatchNorm on batch statistics (default: %(default)s)",
    )
    parser.add_argument(
        "--frozen-steps",
        type=int,
        default=RECIPE_FROZEN_STEPS,
        help="steps after those with BatchNorm frozen to its running statistics, at the "
        "low rate (default: %(default)s)",
    )
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "demo-model")
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument(
        "--lr-drop-step",
        type=int,
        help="step from which the learning rate is 10x lower (default: 85%% of --steps)",
    )
    parser.add_argument("--train-only", action="store_true", help="skip evaluation and export")
    args = parser.parse_args()

    drop = args.lr_drop_step if args.lr_drop_step is not None else round(args.steps * 0.85)
    config = TrainConfig(
        steps=args.steps + args.frozen_steps,
        threads=args.threads,
        lr_drop_step=drop,
        freeze_batchnorm_step=args.steps if args.frozen_steps else None,
    )
    columns = (
        TextColumn("[bold]training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    started = time.time()
    # Wall time is only meaningful for a run done in one go; a resumed run reports the
    # summed step time (always recorded) instead.
    fresh = not (args.run_dir / "train_state.pt").exists()
    with Progress(*columns, refresh_per_second=1) as progress:
        task = progress.add_task("train", total=config.steps, losses="")

        def on_step(step: int, losses: dict[str, float]) -> None:
            text = " ".join(f"{k[:5]}={v:.3f}" for k, v in losses.items())
            progress.update(task, completed=step, losses=text)
            if step % 50 == 0:
                progress.console.log(f"step {step}: {text}")

        state = train(config, args.run_dir, on_step=on_step)
    print(f"trained {state.step} steps in {state.seconds / 60:.1f} min of step time")
    if not args.train_only:
        from animatecli.training.export import export_demo_model

        wall = time.time() - started if fresh else None
        export_demo_model(args.run_dir, config, wall_seconds=wall)


if __name__ == "__main__":
    main()
