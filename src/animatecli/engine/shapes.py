"""Reading a configuration off state-dict tensor shapes: helpers shared by the families."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from ..errors import CheckpointError
from .blocks import antialias_kernel_size

_KNOWN_SCALES = (1.0, 0.5, 0.25, 0.125)


def indices(state: Mapping[str, torch.Tensor], prefix: str) -> list[int]:
    """The sorted ``N`` of every key ``{prefix}{N}.…`` (the blocks of a ModuleList)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for k in state if (m := pattern.match(k))})


def scale_from_kernel(state: Mapping[str, torch.Tensor], key: str) -> float:
    """The downscale factor of the anti-alias buffer ``key`` (1.0 when there is none)."""
    if key not in state:
        return 1.0
    size = state[key].shape[-1]
    for scale in _KNOWN_SCALES[1:]:
        if antialias_kernel_size(scale) == size:
            return scale
    raise CheckpointError(f"unsupported anti-alias kernel size {size} in '{key}'")


def hourglass_params(state: Mapping[str, torch.Tensor], prefix: str) -> tuple[int, int, int]:
    """(block_expansion, num_blocks, max_features) of an hourglass under ``prefix``."""
    downs = indices(state, prefix + "encoder.down_blocks.")
    if not downs:
        raise KeyError(prefix + "encoder.down_blocks")
    num_blocks = len(downs)
    block_expansion = state[f"{prefix}decoder.up_blocks.{num_blocks - 1}.conv.weight"].shape[0]
    widest = max(state[f"{prefix}encoder.down_blocks.{i}.conv.weight"].shape[0] for i in downs)
    return int(block_expansion), num_blocks, int(widest)


def shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Every state-dict entry's shape."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}
