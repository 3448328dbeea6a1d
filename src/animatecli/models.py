"""Choosing the device and the checkpoint, and loading the model once per process."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from . import catalogue
from .catalogue import CHECKPOINT_ENV, CatalogueEntry, not_cached_message
from .engine import LoadedCheckpoint, load_checkpoint
from .errors import CheckpointError, DeviceError
from .options import ModelOptions

DEFAULT_CHECKPOINT_NAME = "animatecli-synthetic-128.pt"
# The bundled model: checkpoints/ beside src/ in a source checkout (its home), else the
# copy a wheel carries as package data (see setup.py).
CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "checkpoints"
PACKAGED_CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def resolve_device(spec: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda``/``cuda:N`` must exist."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise DeviceError(f"unknown device '{spec}' (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{spec}' requested but CUDA is not available here")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device '{spec}' requested but only {torch.cuda.device_count()} CUDA device(s)"
            )
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device '{spec}' (use auto, cpu, cuda or cuda:N)")
    return device


def _catalogue_or_file(given: Path | str, origin: str) -> tuple[Path, str]:
    """A catalogue name (``fomm-vox``) means its cached file; anything else is a path. An
    existing file of that name wins (``./fomm-vox`` always means the file)."""
    path = Path(given)
    entry = catalogue.find(str(given))
    if entry is None or path.exists():
        return path, origin
    cached = catalogue.cached_path(entry)
    if not cached.is_file():
        raise CheckpointError(not_cached_message(entry.name))
    return cached, f"{origin} {entry.name}"


def resolve_checkpoint(explicit: Path | None) -> tuple[Path, str]:
    """The checkpoint to use and why: ``--checkpoint``, then ``$ANIMATE_CHECKPOINT``
    (each a file or a catalogue name of a fetched model), then the bundled default model.

    Raises:
        CheckpointError: a catalogue name that is not in the cache (the message gives the
            ``animate models fetch NAME`` command: a job never downloads).
    """
    if explicit is not None:
        return _catalogue_or_file(explicit, "--checkpoint")
    env = os.environ.get(CHECKPOINT_ENV)
    if env is not None and env and not env.strip():
        raise CheckpointError(
            f"${CHECKPOINT_ENV} is blank; unset it to use the bundled model, or set it to a "
            "checkpoint file or a model name"
        )
    if env:
        return _catalogue_or_file(env, f"${CHECKPOINT_ENV}")
    for folder in (CHECKPOINT_DIR, PACKAGED_CHECKPOINT_DIR):
        bundled = folder / DEFAULT_CHECKPOINT_NAME
        if bundled.exists():
            return bundled, "bundled default"
    raise CheckpointError(
        f"no model available: the bundled {DEFAULT_CHECKPOINT_NAME} is missing; "
        "pass --checkpoint FILE "
        f"(e.g. the official vox-cpk.pth.tar) or set {CHECKPOINT_ENV}"
    )


def is_bundled(path: Path) -> bool:
    """Whether ``path`` is the bundled cartoon model (trained on procedural heads only)."""
    try:
        resolved = Path(path).resolve()
        return any(
            resolved == (folder / DEFAULT_CHECKPOINT_NAME).resolve()
            for folder in (CHECKPOINT_DIR, PACKAGED_CHECKPOINT_DIR)
        )
    except OSError:
        return False


def catalogue_entry_of(path: Path) -> CatalogueEntry | None:
    """The catalogue entry whose cached file ``path`` is (by location: the cache holds only
    verified files), or None for any other file."""
    try:
        resolved = Path(path).resolve()
    except OSError:
        return None
    for entry in catalogue.CATALOGUE:
        if catalogue.cached_path(entry).resolve() == resolved:
            return entry
    return None


def load_model(options: ModelOptions) -> tuple[LoadedCheckpoint, torch.device, str]:
    """Load the chosen checkpoint onto the chosen device (float32 weights); also returns
    why that checkpoint was chosen (see :func:`resolve_checkpoint`)."""
    device = resolve_device(options.device)
    if options.fp16 and device.type != "cuda":
        raise DeviceError("--fp16 needs a CUDA device")
    if options.cuda_graphs and device.type != "cuda":
        raise DeviceError("--cuda-graphs needs a CUDA device")
    path, origin = resolve_checkpoint(options.checkpoint)
    loaded = load_checkpoint(
        path, config=options.config, device=device, align_corners=options.align_corners
    )
    return loaded, device, origin
