"""Training of FOMM networks on procedural talking heads (FOMM objective without the VGG
term: multi-scale L1 reconstruction plus equivariance losses, the Jacobian one included).

The objective is FOMM's, so this module works with :mod:`animatecli.engine.fomm` directly;
evaluation and export go through the family-blind engine."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import write_atomically
from ..engine import frames_to_tensor
from ..engine.blocks import AntiAliasDownsample
from ..engine.fomm import FommModel, ModelConfig
from ..engine.fomm.config import DenseMotionConfig, GeneratorConfig, KeypointDetectorConfig
from ..engine.fomm.keypoints import JACOBIAN
from .synthetic import sample_training_pair
from .transforms import RandomTps


def default_model_config(size: int = 128) -> ModelConfig:
    """The bundled model: official layout and block counts, narrower widths."""
    return ModelConfig(
        num_kp=10,
        kp_detector=KeypointDetectorConfig(block_expansion=16, max_features=128, num_blocks=5),
        generator=GeneratorConfig(
            block_expansion=16,
            max_features=128,
            # No down blocks (the official models use two): the features are warped and
            # refined at full resolution, so no decoder has to re-invent detail the warp
            # already has. At this width it is also cheaper than one down/up pair.
            num_down_blocks=0,
            num_bottleneck_blocks=3,
            # Motion at half resolution; with align_corners=True (see TrainConfig) resizing
            # the field keeps the identity motion exact.
            dense_motion=DenseMotionConfig(
                block_expansion=16, max_features=128, num_blocks=5, scale_factor=0.5
            ),
        ),
        frame_shape=(size, size),
    )


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (stored in the checkpoint's metadata)."""

    steps: int = 3000
    # 8 rather than 4: steadier BatchNorm statistics, better per unit of compute.
    batch_size: int = 8
    # Piecewise constant in the step number, so a run stopped at step N equals a run
    # configured for N steps: the rate drops by ``lr_drop_factor`` from ``lr_drop_step``.
    learning_rate: float = 3e-4
    lr_drop_step: int | None = None
    lr_drop_factor: float = 0.1
    # From this step on, BatchNorm uses its running statistics (a fixed affine map)
    # instead of each batch's: the network is then trained exactly as it is evaluated,
    # without the batch-to-batch noise that otherwise limits how precisely it can give
    # back colours and textures.
    freeze_batchnorm_step: int | None = None
    # FOMM's coordinate grid puts ±1 on the corner pixels' centres, which is what
    # grid_sample means by align_corners=True. With False (modern PyTorch's default, and
    # the official code's behaviour today) even the identity motion resamples everything
    # up to half a pixel off, a position-dependent blur a convolutional decoder cannot
    # undo. Our model is trained (and shipped) with the consistent convention.
    align_corners: bool = True
    seed: int = 0
    size: int = 128
    reconstruction_scales: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)
    reconstruction_weight: float = 10.0
    equivariance_value_weight: float = 10.0
    equivariance_jacobian_weight: float = 10.0
    sigma_affine: float = 0.05
    sigma_tps: float = 0.005
    points_tps: int = 5
    save_every: int = 100
    threads: int = 2
    model: dict[str, Any] = field(default_factory=dict)

    def learning_rate_at(self, step: int) -> float:
        """The rate used for the update that follows ``step`` completed steps."""
        if self.lr_drop_step is not None and step >= self.lr_drop_step:
            return self.learning_rate * self.lr_drop_factor
        return self.learning_rate

    def batchnorm_frozen_at(self, step: int) -> bool:
        """Whether the update that follows ``step`` completed steps uses running stats."""
        return self.freeze_batchnorm_step is not None and step >= self.freeze_batchnorm_step

    def model_config(self) -> ModelConfig:
        if self.model:
            return ModelConfig.from_dict(self.model)
        return default_model_config(self.size)


class ImagePyramid(torch.nn.Module):
    """Anti-aliased copies of an image at several scales (for the L1 pyramid)."""

    def __init__(self, scales: tuple[float, ...], channels: int = 3):
        super().__init__()
        self.scales = scales
        self.downs = torch.nn.ModuleList(
            torch.nn.Identity() if s == 1 else AntiAliasDownsample(channels, s) for s in scales
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [down(x) for down in self.downs]


def training_losses(
    model: FommModel,
    pyramid: ImagePyramid,
    source: torch.Tensor,
    driving: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Loss terms for one batch (``B×3×H×W`` source and driving in ``[0, 1]``)."""
    kp_source = model.kp_detector(source)
    kp_driving = model.kp_detector(driving)
    prediction = model.generator(source, kp_driving, kp_source).prediction
    reconstruction = sum(
        (p - d).abs().mean() for p, d in zip(pyramid(prediction), pyramid(driving), strict=True)
    )
    losses = {"reconstruction": config.reconstruction_weight * reconstruction}

    transform = RandomTps(
        driving.shape[0],
        sigma_affine=config.sigma_affine,
        sigma_tps=config.sigma_tps,
        points_tps=config.points_tps,
        generator=generator,
    )
    transformed = model.kp_detector(transform.transform_frames(driving))
    # Keypoints found on T(frame) must map back through T onto the frame's keypoints.
    mapped = transform.warp_coordinates(transformed.value)
    losses["equivariance_value"] = config.equivariance_value_weight * (
        (kp_driving.value - mapped).abs().mean()
    )
    if JACOBIAN in kp_driving.extras and JACOBIAN in transformed.extras:
        chained = torch.matmul(transform.jacobian(transformed.value), transformed.extras[JACOBIAN])
        residual = torch.eye(2) - torch.matmul(torch.inverse(kp_driving.extras[JACOBIAN]), chained)
        losses["equivariance_jacobian"] = (
            config.equivariance_jacobian_weight * residual.abs().mean()
        )
    return losses


def sample_batch(rng: np.random.Generator, batch: int, size: int) -> tuple[torch.Tensor, ...]:
    pairs = [sample_training_pair(rng, size) for _ in range(batch)]
    # channels_last: oneDNN's convolutions are faster in it on CPU (14% per step).
    layout = torch.channels_last
    source = frames_to_tensor(np.stack([p[0] for p in pairs])).contiguous(memory_format=layout)
    driving = frames_to_tensor(np.stack([p[1] for p in pairs])).contiguous(memory_format=layout)
    return source, driving


@dataclass
class TrainState:
    """What a resumed run needs."""

    step: int
    model: FommModel
    optimizer: torch.optim.Optimizer
    rng: np.random.Generator
    torch_generator: torch.Generator
    seconds: float
    history: list[dict[str, float]]


def _config_dict(config: TrainConfig) -> dict[str, Any]:
    """``config`` as it reads back from JSON (tuples become lists), for comparing runs."""
    return json.loads(json.dumps(asdict(config)))


# Length, checkpoint cadence and threads may change between resumes.
_FREE_BETWEEN_RESUMES = ("steps", "save_every", "threads")
# Schedule points: the step from which something changes.
_SCHEDULE_POINTS = ("lr_drop_step", "freeze_batchnorm_step")


def _resumable_view(config: dict[str, Any], step: int) -> dict[str, Any]:
    """What must agree for a run saved at ``step`` to go on under ``config``.

    A schedule point may move as long as it stays at or beyond ``step`` on both sides:
    every update already taken is then the same under either schedule. That lets a
    finished run be extended by a later phase (say, frozen BatchNorm from its last step)
    and still equal a run planned that way from scratch.
    """
    view = {k: v for k, v in config.items() if k not in _FREE_BETWEEN_RESUMES}
    for key in _SCHEDULE_POINTS:
        point = view[key]
        view[key] = step if point is None else min(point, step)
    return view


def _state_path(run_dir: Path) -> Path:
    return run_dir / "train_state.pt"


def save_state(run_dir: Path, state: TrainState, config: TrainConfig) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "step": state.step,
        "seconds": state.seconds,
        "history": state.history,
        "config": json.dumps(_config_dict(config)),
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "rng": json.dumps(state.rng.bit_generator.state),
        "torch_rng": state.torch_generator.get_state(),
    }
    # Atomic: a run killed while saving resumes from the previous state, not a torn file.
    write_atomically(_state_path(run_dir), lambda temp: torch.save(payload, temp))


def new_state(config: TrainConfig) -> TrainState:
    torch.manual_seed(config.seed)
    model = FommModel(config.model_config(), align_corners=config.align_corners)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(config.seed)
    return TrainState(0, model, optimizer, np.random.default_rng(config.seed), generator, 0.0, [])


def load_state(run_dir: Path, config: TrainConfig) -> TrainState | None:
    """The saved state of ``run_dir`` if there is one (weights-only load)."""
    path = _state_path(run_dir)
    if not path.exists():
        return None
    payload = torch.load(path, weights_only=True)
    step = payload["step"]
    # An option added since the run started counts as its default.
    saved = {**_config_dict(TrainConfig()), **json.loads(payload["config"])}
    if _resumable_view(saved, step) != _resumable_view(_config_dict(config), step):
        raise ValueError(f"{run_dir} holds a run with another configuration; use a new folder")
    state = new_state(config)
    state.model.load_state_dict(payload["model"])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.rng.bit_generator.state = json.loads(payload["rng"])
    state.torch_generator.set_state(payload["torch_rng"])
    state.step = step
    state.seconds = payload["seconds"]
    state.history = payload["history"]
    return state


def train(
    config: TrainConfig,
    run_dir: Path,
    *,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainState:
    """Run (or resume) training in ``run_dir`` until ``config.steps``."""
    torch.set_num_threads(config.threads)
    state = load_state(run_dir, config) or new_state(config)
    pyramid = ImagePyramid(config.reconstruction_scales)
    model = state.model.to(memory_format=torch.channels_last)
    while state.step < config.steps:
        started = time.perf_counter()
        # eval() only changes BatchNorm here: the networks have no dropout.
        model.train(not config.batchnorm_frozen_at(state.step))
        source, driving = sample_batch(state.rng, config.batch_size, config.size)
        losses = training_losses(model, pyramid, source, driving, config, state.torch_generator)
        total = sum(losses.values())
        for group in state.optimizer.param_groups:
            group["lr"] = config.learning_rate_at(state.step)
        state.optimizer.zero_grad(set_to_none=True)
        total.backward()
        state.optimizer.step()
        state.step += 1
        state.seconds += time.perf_counter() - started
        record = {k: float(v.detach()) for k, v in losses.items()}
        record["total"] = float(total.detach())
        if not math.isfinite(record["total"]):
            raise FloatingPointError(f"loss is not finite at step {state.step}: {record}")
        state.history.append({"step": state.step, **record})
        if on_step is not None:
            on_step(state.step, record)
        if state.step % config.save_every == 0 or state.step == config.steps:
            save_state(run_dir, state, config)
    model.eval()
    return state
