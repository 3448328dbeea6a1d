"""Our torch reading of the five released models against the ncnn runtime's own outputs
(``esrgan-spec.md`` §6): at most 1 level, mean ≤ 0.01, at batch 1 and batch 4."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest
import torch

from animatecli.engine.upscale import Upscaler

from .upscale_testutil import MODELS, manifest, model_files, ncnn_net, read_rgb, reference_file

CASES = [(case["input"], case["model"], case["output"]) for case in manifest()["cases"]]


def test_the_manifest_covers_every_model_and_input() -> None:
    assert len(CASES) == 15
    assert {model for _, model, _ in CASES} == set(MODELS)


@pytest.mark.parametrize("stem", MODELS)
def test_the_wheel_ships_the_files_the_reference_was_made_with(stem: str) -> None:
    expected = manifest()["models"][stem]["files"]
    for path, kind in zip(model_files(stem), ("param", "bin"), strict=True):
        assert path.stat().st_size == expected[kind]["bytes"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[kind]["sha256"]


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize(("source", "model", "expected"), CASES)
def test_matches_the_runtime(source: str, model: str, expected: str, batch: int) -> None:
    pixels = read_rgb(reference_file(source))
    reference = read_rgb(reference_file(expected)).astype(np.int16)
    upscaler = Upscaler(copy.deepcopy(ncnn_net(model)))
    frames = torch.from_numpy(np.stack([pixels] * batch))
    out = upscaler.upscale_uint8(frames).numpy().astype(np.int16)
    assert out.shape == (batch, *reference.shape)
    for sample in out:
        difference = np.abs(sample - reference)
        assert difference.max() <= 1, f"{model} on {source}: max {difference.max()}"
        assert difference.mean() <= 0.01, f"{model} on {source}: mean {difference.mean()}"
