"""Tiles with overlap show no seams: a tiled run against a single-tile run of the same
frame, with the released weights on a real picture."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from animatecli.engine.upscale import Upscaler
from animatecli.engine.upscale.runner import _spans

from .upscale_testutil import ncnn_net, read_rgb, reference_file


def _levels(upscaler: Upscaler, pixels: np.ndarray) -> np.ndarray:
    return upscaler.upscale_uint8(torch.from_numpy(pixels[None]))[0].numpy().astype(np.int16)


def test_spans_cover_every_pixel_once() -> None:
    spans = _spans(70, 24, 8)
    assert [(a, b) for a, b, _, _ in spans] == [(0, 24), (24, 48), (48, 70)]
    assert [(c, d) for _, _, c, d in spans] == [(0, 32), (16, 56), (40, 70)]


@pytest.mark.parametrize("stem", ["realesr-animevideov3-x4", "realesr-animevideov3-x3"])
def test_tiles_with_overlap_show_no_seams(stem: str) -> None:
    pixels = read_rgb(reference_file("in-astronaut-48x64.png"))
    whole = _levels(Upscaler(copy.deepcopy(ncnn_net(stem))), pixels)
    # 20-pixel tiles: the padded 68×84 frame is cut 4×5 times.
    tiled = _levels(Upscaler(copy.deepcopy(ncnn_net(stem)), tile=20, overlap=16), pixels)
    difference = np.abs(tiled - whole)
    assert difference.max() <= 1
    assert difference.mean() <= 0.01
    # Without the overlap the tiles' borders are plainly visible: the overlap is needed.
    bare = _levels(Upscaler(copy.deepcopy(ncnn_net(stem)), tile=20, overlap=0), pixels)
    assert np.abs(bare - whole).max() > 8


def test_rrdb_tiles_with_overlap_show_no_seams() -> None:
    pixels = read_rgb(reference_file("in-chelsea-37x29.png"))
    net = ncnn_net("realesrgan-x4plus-anime")
    whole = _levels(Upscaler(copy.deepcopy(net)), pixels)
    tiled = _levels(Upscaler(copy.deepcopy(net), tile=24), pixels)  # overlap 32
    difference = np.abs(tiled - whole)
    assert difference.max() <= 1
    assert difference.mean() <= 0.02


def test_the_automatic_tile_fits_the_memory_budget() -> None:
    upscaler = Upscaler(copy.deepcopy(ncnn_net("realesrgan-x4plus-anime")))
    side = upscaler.tile_side(1)
    assert 128 <= side <= 512
    assert upscaler.tile_side(4) < side
    small = Upscaler(copy.deepcopy(ncnn_net("realesr-animevideov3-x4")), memory_budget=1 << 26)
    assert small.tile_side(1) < Upscaler(
        copy.deepcopy(ncnn_net("realesr-animevideov3-x4"))
    ).tile_side(1)
