"""The full layout of a released checkpoint, training state included, for tests and
benchmarks of loading.

The released files were saved by the training scripts: besides the networks inference
needs they hold the discriminator (FOMM) and each optimizer's state: Adam keeps two
moments per parameter, so the optimizers alone are twice the networks (FOMM's
``vox-cpk.pth.tar`` is 729 MB, 230 MB of it the generator and keypoint detector). A
file built here has the same entries and sizes (FOMM's discriminator as its
configurations describe it: one scale, 32→512 features, 4 blocks of 4×4 convolutions
with spectral norm), with the moments left uninitialised: loading reads bytes, whatever
they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from .protocol import MotionModel, StateDict

_ADAM_GROUP = {"lr": 2e-4, "betas": (0.5, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False}


def adam_state(parameters: Iterable[torch.Tensor]) -> dict[str, Any]:
    """An Adam optimizer's ``state_dict`` for ``parameters``: a step count and the two
    moments of each (uninitialised memory of the parameter's shape)."""
    state: dict[int, dict[str, Any]] = {}
    for index, parameter in enumerate(parameters):
        state[index] = {
            "step": torch.tensor(1000.0),
            "exp_avg": torch.empty(parameter.shape, dtype=parameter.dtype),
            "exp_avg_sq": torch.empty(parameter.shape, dtype=parameter.dtype),
        }
    return {"state": state, "param_groups": [{**_ADAM_GROUP, "params": list(state)}]}


def fomm_discriminator_state(block_expansion: int = 32, max_features: int = 512) -> StateDict:
    """A state dict the size of FOMM's training discriminator (one scale, 4 down blocks
    of 4×4 convolutions with spectral norm and instance norm, a 1×1 prediction)."""
    state: StateDict = {}
    in_channels = 3
    for block in range(4):
        out_channels = min(max_features, block_expansion * 2 ** (block + 1))
        prefix = f"discs.1.down_blocks.{block}"
        state[f"{prefix}.conv.bias"] = torch.empty(out_channels)
        state[f"{prefix}.conv.weight_orig"] = torch.empty(out_channels, in_channels, 4, 4)
        state[f"{prefix}.conv.weight_u"] = torch.empty(out_channels)
        state[f"{prefix}.conv.weight_v"] = torch.empty(in_channels * 16)
        if block:
            state[f"{prefix}.norm.weight"] = torch.empty(out_channels)
            state[f"{prefix}.norm.bias"] = torch.empty(out_channels)
        in_channels = out_channels
    state["discs.1.conv.bias"] = torch.empty(1)
    state["discs.1.conv.weight_orig"] = torch.empty(1, in_channels, 1, 1)
    state["discs.1.conv.weight_u"] = torch.empty(1)
    state["discs.1.conv.weight_v"] = torch.empty(in_channels)
    return state


def _parameters(states: Iterable[Mapping[str, torch.Tensor]]) -> list[torch.Tensor]:
    # What an optimizer holds moments for: the float tensors that are not BN statistics.
    return [
        tensor
        for state in states
        for key, tensor in state.items()
        if tensor.is_floating_point() and "running_" not in key
    ]


def full_official_container(model: MotionModel) -> dict[str, Any]:
    """The model's official container as the training scripts wrote it: every network's
    state dict, the discriminator (FOMM), the optimizers' states and the epoch."""
    parts = {name: module.state_dict() for name, module in model.checkpoint_parts().items()}
    container: dict[str, Any] = dict(parts)
    if model.family == "fomm":
        discriminator = fomm_discriminator_state()
        container["discriminator"] = discriminator
        container["optimizer_generator"] = adam_state(_parameters([parts["generator"]]))
        container["optimizer_kp_detector"] = adam_state(_parameters([parts["kp_detector"]]))
        container["optimizer_discriminator"] = adam_state(_parameters([discriminator]))
    else:
        # The background predictor (a ResNet-18 like the keypoint detector, 11.2 M
        # parameters against 11.24 M) is training-time only here: shapes of the latter.
        parts["bg_predictor"] = {
            key: torch.empty(value.shape, dtype=value.dtype)
            for key, value in parts["kp_detector"].items()
        }
        container["bg_predictor"] = parts["bg_predictor"]
        main = ("inpainting_network", "dense_motion_network", "kp_detector")
        container["optimizer"] = adam_state(_parameters([parts[n] for n in main if n in parts]))
        for part, optimizer in (
            ("bg_predictor", "optimizer_bg_predictor"),
            ("avd_network", "optimizer_avd"),
        ):
            if part in parts:
                container[optimizer] = adam_state(_parameters([parts[part]]))
    container["epoch"] = 99
    return container
