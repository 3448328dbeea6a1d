"""Issue 28 items 12 and 17 (model half): our own checkpoint format with a config that asks
for too much, or weights that are NaN, is one line and exit 2 when it is loaded."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from .cli_testutil import assert_one_line_error, finish, snapshot, start, write_face


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(container: dict[str, Any]) -> None:
        target = container["config"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _poison(value: float) -> Callable[[dict[str, Any]], None]:
    def change(container: dict[str, Any]) -> None:
        state = container["generator"]
        key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
        state[key] = state[key].clone()
        state[key].view(-1)[1] = value

    return change


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "model_params a string": (
        _set(("model_params",), "vox"),
        r"config is not valid: model_params is a str, not a mapping$",
    ),
    "generator_params a list": (
        _set(("model_params", "generator_params"), [1, 2]),
        r"config is not valid: model_params.generator_params is a list, not a mapping$",
    ),
    "config a number": (
        lambda c: c.update(config=7),
        r"config is not valid: it is a int, not a mapping$",
    ),
    "frame_shape 100000²": (
        _set(("frame_shape",), [100000, 100000]),
        r"config is not valid: frame_shape \(100000, 100000\) \(allowed: two sides of 1..2048\)$",
    ),
    "num_kp 1e9": (
        _set(("model_params", "common_params", "num_kp"), 1e9),
        r"config is not valid: num_kp is 1000000000 \(allowed: whole numbers 1..256\)$",
    ),
    "block_expansion a string": (
        _set(("model_params", "kp_detector_params", "block_expansion"), "wide"),
        r"config is not valid: kp_detector.block_expansion is 'wide' \(allowed",
    ),
    "temperature NaN": (
        _set(("model_params", "kp_detector_params", "temperature"), math.nan),
        r"config is not valid: kp_detector.temperature is nan \(allowed",
    ),
    "NaN weights": (_poison(math.nan), r"weights are damaged: generator\.\S+ holds NaN"),
    "infinite weights": (_poison(math.inf), r"weights are damaged: generator\.\S+ holds NaN"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_checkpoint_that_asks_too_much_is_one_line(
    name: str, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    change, message = CASES[name]
    container = torch.load(tiny_checkpoint, weights_only=True)
    change(container)
    torch.save(container, tmp_path / "bad.pt")
    write_face(tmp_path / "face.png")
    (tmp_path / "clip.mp4").write_bytes(b"")  # never reached: the model is loaded first
    before = snapshot(tmp_path)
    args = ("face.png", "clip.mp4", "-o", "out.mp4", "--checkpoint", "bad.pt")
    proc = finish(start(args, tmp_path, tiny_checkpoint))
    assert_one_line_error(proc, 2, message)
    assert snapshot(tmp_path) == before
