"""Training loop, resumability and the shipped checkpoint (its scores: test_evaluate.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from testutil import tiny_model_config

from animatecli.engine import load_checkpoint
from animatecli.engine.fomm import FommModel
from animatecli.models import CHECKPOINT_DIR, DEFAULT_CHECKPOINT_NAME
from animatecli.training.trainer import (
    ImagePyramid,
    TrainConfig,
    sample_batch,
    train,
    training_losses,
)

SHIPPED = CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAME


def tiny_train_config(**overrides: object) -> TrainConfig:
    model = tiny_model_config(num_kp=4)
    values: dict[str, object] = {
        "steps": 4,
        "batch_size": 2,
        "size": 64,
        "save_every": 2,
        "threads": 1,
        "model": model.to_dict(),
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_a_few_steps_lower_the_loss() -> None:
    torch.manual_seed(0)
    config = tiny_train_config()
    model = FommModel(config.model_config()).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    pyramid = ImagePyramid(config.reconstruction_scales)
    source, driving = sample_batch(np.random.default_rng(0), 2, 64)
    generator = torch.Generator().manual_seed(0)
    totals = []
    for _ in range(15):
        losses = training_losses(model, pyramid, source, driving, config, generator)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total.detach()))
    assert set(losses) == {"reconstruction", "equivariance_value", "equivariance_jacobian"}
    assert np.mean(totals[-3:]) < 0.8 * np.mean(totals[:3])


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    # The rate drop and the BatchNorm freeze fall after the resume point: the schedule
    # must survive it too.
    def config(steps: int) -> TrainConfig:
        return tiny_train_config(steps=steps, lr_drop_step=3, freeze_batchnorm_step=3)

    straight = train(config(4), tmp_path / "a")
    train(config(2), tmp_path / "b")
    resumed = train(config(4), tmp_path / "b")
    assert resumed.step == 4 and len(resumed.history) == 4
    for (name, a), b in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_resume_refuses_a_different_configuration(tmp_path: Path) -> None:
    train(tiny_train_config(steps=2), tmp_path / "run")
    with pytest.raises(ValueError, match="another configuration"):
        train(tiny_train_config(steps=4, learning_rate=1.0), tmp_path / "run")


def test_run_saved_before_an_option_existed_resumes_with_its_default(tmp_path: Path) -> None:
    train(tiny_train_config(steps=2), tmp_path / "run")
    path = tmp_path / "run" / "train_state.pt"
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["config"])
    del config["freeze_batchnorm_step"]
    payload["config"] = json.dumps(config)
    torch.save(payload, path)
    assert train(tiny_train_config(steps=3), tmp_path / "run").step == 3
    with pytest.raises(ValueError, match="another configuration"):
        train(tiny_train_config(steps=4, freeze_batchnorm_step=2), tmp_path / "run")


def test_finished_run_extends_by_a_later_phase_as_if_planned(tmp_path: Path) -> None:
    # A run planned with a rate drop and a frozen phase equals a run that ended before
    # them and was then extended: every step already taken is the same under both.
    planned = tiny_train_config(steps=4, lr_drop_step=2, freeze_batchnorm_step=3)
    straight = train(planned, tmp_path / "a")
    train(tiny_train_config(steps=2), tmp_path / "b")
    extended = train(planned, tmp_path / "b")
    for (name, a), b in zip(
        straight.model.state_dict().items(), extended.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    # Moving a point into the steps already taken would rewrite history: refused.
    for moved in (
        {"lr_drop_step": 1, "freeze_batchnorm_step": 3},
        {"lr_drop_step": 2, "freeze_batchnorm_step": 4},
    ):
        with pytest.raises(ValueError, match="another configuration"):
            train(tiny_train_config(steps=5, **moved), tmp_path / "a")


def test_learning_rate_drops_at_the_configured_step(tmp_path: Path) -> None:
    config = tiny_train_config(steps=3, learning_rate=1e-3, lr_drop_step=2, lr_drop_factor=0.1)
    assert [config.learning_rate_at(s) for s in (0, 1, 2, 5)] == pytest.approx(
        [1e-3, 1e-3, 1e-4, 1e-4]
    )
    state = train(config, tmp_path / "run")
    rates = [group["lr"] for group in state.optimizer.param_groups]
    assert rates == pytest.approx([1e-4])  # the last update (after step 2) used the low rate
    assert state.model.generator.align_corners is config.align_corners is True


def test_batchnorm_statistics_stop_moving_at_the_freeze_step(tmp_path: Path) -> None:
    def config(steps: int) -> TrainConfig:
        return tiny_train_config(steps=steps, freeze_batchnorm_step=2)

    assert [config(1).batchnorm_frozen_at(s) for s in (0, 1, 2, 9)] == [False, False, True, True]
    at_freeze = train(config(2), tmp_path / "a").model.state_dict()
    after = train(config(4), tmp_path / "b").model.state_dict()
    statistics = [k for k in at_freeze if k.endswith(("running_mean", "running_var"))]
    assert statistics
    for key in statistics:
        assert torch.equal(at_freeze[key], after[key]), key
    # The affine BatchNorm parameters and the convolutions still learn.
    learned = ("generator.final.weight", "kp_detector.predictor.encoder.down_blocks.0.norm.weight")
    for key in learned:
        assert not torch.equal(at_freeze[key], after[key]), key


def test_shipped_checkpoint_loads_fast_with_its_config() -> None:
    assert SHIPPED.exists(), f"bundled model missing: {SHIPPED}"
    assert SHIPPED.stat().st_size <= 20 * 2**20
    start = time.perf_counter()
    loaded = load_checkpoint(SHIPPED)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"loading took {elapsed:.2f}s"
    assert loaded.kind == "animatecli" and loaded.config_source == "file"
    meta = loaded.metadata
    for key in ("generator_version", "seed", "steps", "train_seconds", "evaluation"):
        assert key in meta, key
    evaluation = meta["evaluation"]
    assert evaluation["l1"] < 0.6 * evaluation["copy_source_l1"]  # shipped: 0.54
    ratio = evaluation["l1"] / evaluation["copy_source_l1"]
    assert evaluation["ratio"] == pytest.approx(ratio, abs=1e-3)  # stored rounded
