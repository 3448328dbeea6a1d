"""Read official Real-ESRGAN ``.pth`` files (``esrgan-spec.md`` §4) into :mod:`.nets`
networks, inferring the configuration from the tensors themselves.

* ``conv_first.weight`` present → RRDBNet: its input channels give the pixel-unshuffle
  factor (3 → none, ×4; 12 → 2, ×2; 48 → 4, ×1), the ``body.{i}`` indices the block
  count, ``body.0.rdb1.conv1`` the growth.
* ``body.0.weight`` present → the compact net: the highest ``body.{j}`` index the number
  of body convolutions, the last convolution's outputs (3·u²) the scale.

Loading is strict: every tensor of the file is consumed, each has exactly the shape the
inferred network needs, nothing is missing; otherwise one-line
:class:`~animatecli.errors.CheckpointError`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError
from ..checkpoint import read_checkpoint_file
from .nets import UpscaleNet, UpscalerConfig, build_net

WEIGHT_ENTRIES = ("params_ema", "params")  # EMA weights first: the released ones
_UNSHUFFLE_BY_CHANNELS = {3: 1, 12: 2, 48: 4}
_BODY_INDEX = re.compile(r"^body\.(\d+)\.")


def _state_dict(container: Mapping[str, Any], path: Path) -> dict[str, torch.Tensor]:
    for entry in WEIGHT_ENTRIES:
        if entry in container:
            inner = container[entry]
            if not isinstance(inner, Mapping):
                raise CheckpointError(f"{path}: '{entry}' is not a dict of tensors")
            container = inner
            break
    state = dict(container)
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {key} is not a tensor (not a Real-ESRGAN file)")
    return state


def _shape(state: Mapping[str, torch.Tensor], key: str, path: Path) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"{path}: tensor {key} missing")
    return tuple(state[key].shape)


def infer_config(state: Mapping[str, torch.Tensor], path: Path) -> UpscalerConfig:
    """The network configuration an official state dict describes."""
    indices = {int(m.group(1)) for key in state if (m := _BODY_INDEX.match(key))}
    if "conv_first.weight" in state:
        features, in_channels = _shape(state, "conv_first.weight", path)[:2]
        unshuffle = _UNSHUFFLE_BY_CHANNELS.get(in_channels)
        if unshuffle is None:
            raise CheckpointError(f"{path}: conv_first takes {in_channels} channels (3/12/48)")
        if not indices or indices != set(range(len(indices))):
            raise CheckpointError(f"{path}: RRDB blocks body.N are missing or not numbered 0…N")
        growth = _shape(state, "body.0.rdb1.conv1.weight", path)[0]
        return UpscalerConfig("rrdb", features, len(indices), 4, 4 // unshuffle, growth, unshuffle)
    if "body.0.weight" in state:
        last = max(indices)
        if last % 2 or last < 2:
            raise CheckpointError(f"{path}: compact body ends at body.{last}, not a convolution")
        features, in_channels = _shape(state, "body.0.weight", path)[:2]
        outputs = _shape(state, f"body.{last}.weight", path)[0]
        scale = math.isqrt(outputs // in_channels)
        if scale * scale * in_channels != outputs:
            raise CheckpointError(f"{path}: last conv gives {outputs} channels, not 3·u²")
        if "body.1.weight" not in state:
            raise CheckpointError(f"{path}: compact net without PReLU slopes (unsupported)")
        return UpscalerConfig("compact", features, last // 2 - 1, scale, scale, 32, 1, in_channels)
    raise CheckpointError(f"{path}: neither an RRDBNet nor a compact Real-ESRGAN state dict")


def load_state(state: Mapping[str, torch.Tensor], path: Path) -> UpscaleNet:
    """Build and fill the network for an official state dict, strictly."""
    config = infer_config(state, path)
    try:
        net = build_net(config)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first {unexpected[0]})")
        raise CheckpointError(
            f"{path}: tensors do not fit the inferred network: {', '.join(parts)}"
        )
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}"
            )
        if not state[key].is_floating_point():
            raise CheckpointError(f"{path}: {key} is not a float tensor")
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return net.eval()


def load_pth(path: str | os.PathLike[str]) -> UpscaleNet:
    """An official Real-ESRGAN ``.pth`` (``params_ema``/``params`` or a bare state dict)
    as a float32, eval-mode network."""
    path = Path(path)
    return load_state(_state_dict(read_checkpoint_file(path), path), path)
