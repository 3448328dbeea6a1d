"""Bounds on what a checkpoint may ask for: its configuration and its weights.

A checkpoint in our format carries its own configuration. Parsed as it is, a string in
place of ``model_params`` raises deep in the parser, a ``frame_shape`` of 100000² asks
for frames of tens of gigabytes and a ``num_kp`` of 1e9 for a network that never ends.
`parse_file_config` turns every such file into one `CheckpointError`; `check_finite_weights`
does the same for weights holding NaN or infinity (they would give a black video).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..errors import CheckpointError

# Largest frame side a model may be built for (official models: 256 and 384).
MAX_FRAME_SIDE = 2048
# Keypoints (FOMM's num_kp) or TPS transforms (TPSMM's num_tps), official: 10 to 50.
MAX_KEYPOINTS = 256
# Block counts of any network (official: 2 to 6).
MAX_BLOCKS = 32
# Any other integer: channel counts and widths (official: up to 1024).
MAX_WIDTH = 8192
# Any float (scales, variances, temperatures; official: 0.01 to 1).
MAX_FLOAT = 1e6
_KEYPOINT_FIELDS = frozenset({"num_kp", "num_tps"})


def _bad(what: str) -> CheckpointError:
    return CheckpointError(f"the checkpoint's config is not valid: {what}")


def _check_mappings(raw: object) -> None:
    """The parts of a raw config that the parsers read as mappings must be mappings."""
    if not isinstance(raw, Mapping):
        raise _bad(f"it is a {type(raw).__name__}, not a mapping")
    params = raw.get("model_params", raw)
    if not isinstance(params, Mapping):
        raise _bad(f"model_params is a {type(params).__name__}, not a mapping")
    for key, value in params.items():
        if str(key).endswith("_params") and not isinstance(value, Mapping):
            raise _bad(f"model_params.{key} is a {type(value).__name__}, not a mapping")
        if isinstance(value, Mapping):
            for inner, inner_value in value.items():
                if str(inner).endswith("_params") and not isinstance(inner_value, Mapping):
                    kind = type(inner_value).__name__
                    raise _bad(f"model_params.{key}.{inner} is a {kind}, not a mapping")


def _limits(name: str) -> tuple[int, int]:
    if name in _KEYPOINT_FIELDS:
        return 1, MAX_KEYPOINTS
    if name.endswith("blocks"):
        return 0, MAX_BLOCKS
    return 0, MAX_WIDTH


def _field_default(item: dataclasses.Field[Any]) -> object:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def check_config_limits(config: object, where: str = "") -> None:
    """`CheckpointError` unless every field of the config dataclass ``config`` (nested
    ones included) has its default's type and lies within the bounds above."""
    for item in dataclasses.fields(config):  # type: ignore[arg-type]
        name = f"{where}{item.name}"
        value = getattr(config, item.name)
        default = _field_default(item)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_config_limits(value, f"{name}.")
        elif item.name == "frame_shape":
            sides = value if isinstance(value, tuple | list) else ()
            if len(sides) != 2 or not all(
                type(side) is int and 1 <= side <= MAX_FRAME_SIDE for side in sides
            ):
                raise _bad(
                    f"frame_shape {_short(value)} (allowed: two sides of 1..{MAX_FRAME_SIDE})"
                )
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise _bad(f"{name} is {_short(value)}, not true or false")
        elif isinstance(default, int):
            low, high = _limits(item.name)
            if type(value) is not int or not low <= value <= high:
                raise _bad(f"{name} is {_short(value)} (allowed: whole numbers {low}..{high})")
        elif isinstance(default, float) and (
            type(value) not in (int, float) or not math.isfinite(value) or abs(value) > MAX_FLOAT
        ):
            raise _bad(f"{name} is {_short(value)} (allowed: a number up to {MAX_FLOAT:g})")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def parse_file_config(parse: Callable[[Any], Any], raw: object) -> Any:
    """The family's ``config_from_dict`` applied to a checkpoint's own config, bounded:
    any config the parser cannot read or that asks for too much is a `CheckpointError`."""
    _check_mappings(raw)
    try:
        config = parse(raw)
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
        raise _bad(f"{type(exc).__name__}: {_short(str(exc))}") from None
    check_config_limits(config)
    return config


def check_finite_weights(state: Mapping[str, torch.Tensor], part: str) -> None:
    """`CheckpointError` when a floating-point tensor of ``state`` holds NaN or infinity."""
    for key, tensor in state.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        # min and max propagate NaN and show an infinity, and need no tensor-sized
        # temporary (isfinite would allocate one as large as the biggest weight).
        low, high = torch.aminmax(tensor)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise CheckpointError(
                f"the checkpoint's weights are damaged: {part}.{key} holds NaN or infinite values"
            )
