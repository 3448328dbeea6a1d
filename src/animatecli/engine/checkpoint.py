"""Checkpoint loading and saving.

Accepts the official FOMM container (a dict with ``kp_detector`` and ``generator`` state
dicts, possibly with discriminator/optimizer entries and ``epoch``) and our own format
(the same two state dicts plus a JSON-able ``config`` and ``metadata``, written with
``torch.save``). Every file is read with ``torch.load(weights_only=True)``: a file whose
unpickling would construct arbitrary Python objects is refused before anything runs.

We keep our own format a plain weights-only torch file rather than safetensors: it needs
no extra dependency, loads through the same safe path as official files, and carries
nested metadata natively.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .blocks import antialias_kernel_size
from .config import (
    OFFICIAL_CONFIGS,
    DenseMotionConfig,
    GeneratorConfig,
    KeypointDetectorConfig,
    ModelConfig,
    official_config,
)
from .model import FommModel
from .safe_load import describe_unloadable

FORMAT_TAG = "animatecli-checkpoint"
FORMAT_VERSION = 1
_DATA_PARALLEL_PREFIX = "module."
_KNOWN_SCALES = (1.0, 0.5, 0.25, 0.125)

StateDict = dict[str, torch.Tensor]


@dataclass
class LoadedCheckpoint:
    """A loaded model with where its configuration came from.

    ``config_source`` is ``"inferred"`` (from the tensor shapes), ``"file"`` (our format
    carries it) or ``"override"`` (given by the caller); ``config_name`` names the
    official configuration the shapes match, if any.
    """

    model: FommModel
    config: ModelConfig
    path: Path
    kind: str  # "official" or "animatecli"
    config_source: str
    config_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    align_corners: bool = False

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for ``--json`` and ``animate doctor``."""
        return {
            "path": str(self.path),
            "kind": self.kind,
            "config_source": self.config_source,
            "config_name": self.config_name,
            "config": self.config.to_dict(),
            "align_corners": self.align_corners,
            "metadata": self.metadata,
        }


def read_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Safely unpickle a checkpoint container (tensors and plain containers only)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint is a directory, not a file: {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it then refuses; we say why.
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises several types for foreign, truncated or unsafe files
        raise CheckpointError(f"cannot load {path}: {describe_unloadable(path)}") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} is not an FOMM checkpoint: it holds a {type(obj).__name__}")
    return dict(obj)


def _state_dict(container: Mapping[str, Any], name: str, path: Path) -> StateDict:
    entry = container.get(name)
    if not isinstance(entry, Mapping):
        found = ", ".join(sorted(map(str, container))[:8]) or "nothing"
        raise CheckpointError(
            f"{path} is not an FOMM checkpoint: no '{name}' state dict (found: {found})"
        )
    state: StateDict = {}
    for key, value in entry.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {name}.{key} is not a tensor")
        # DataParallel saves prefix every key with "module.".
        state[key.removeprefix(_DATA_PARALLEL_PREFIX)] = value
    return state


def _indices(state: Mapping[str, torch.Tensor], prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for k in state if (m := pattern.match(k))})


def _scale_from_kernel(state: Mapping[str, torch.Tensor], key: str) -> float:
    if key not in state:
        return 1.0
    size = state[key].shape[-1]
    for scale in _KNOWN_SCALES[1:]:
        if antialias_kernel_size(scale) == size:
            return scale
    raise CheckpointError(f"unsupported anti-alias kernel size {size} in '{key}'")


def _hourglass_params(state: Mapping[str, torch.Tensor], prefix: str) -> tuple[int, int, int]:
    """(block_expansion, num_blocks, max_features) of an hourglass under ``prefix``."""
    downs = _indices(state, prefix + "encoder.down_blocks.")
    if not downs:
        raise KeyError(prefix + "encoder.down_blocks")
    num_blocks = len(downs)
    block_expansion = state[f"{prefix}decoder.up_blocks.{num_blocks - 1}.conv.weight"].shape[0]
    widest = max(state[f"{prefix}encoder.down_blocks.{i}.conv.weight"].shape[0] for i in downs)
    return int(block_expansion), num_blocks, int(widest)


def infer_config(kp_state: Mapping[str, torch.Tensor], gen_state: Mapping[str, torch.Tensor]):
    """Derive a :class:`ModelConfig` from the two state dicts' tensor shapes.

    Not recoverable from tensors, and taken from the official defaults: the heatmap
    temperature (0.1), the detector padding (0), the keypoint variance (0.01) and the
    frame shape (256×256). ``max_features`` is taken as the widest layer seen, which
    builds the same network as any larger cap.
    """
    try:
        kp_be, kp_blocks, kp_mf = _hourglass_params(kp_state, "predictor.")
        num_kp = int(kp_state["kp.weight"].shape[0])
        num_channels = int(kp_state["predictor.encoder.down_blocks.0.conv.weight"].shape[1])
        jac = kp_state.get("jacobian.weight")
        single_map = jac is not None and jac.shape[0] == 4 and num_kp != 1
        dm_be, dm_blocks, dm_mf = _hourglass_params(gen_state, "dense_motion_network.hourglass.")
        gen_be = int(gen_state["first.conv.weight"].shape[0])
        num_down = len(_indices(gen_state, "down_blocks."))
        num_bottleneck = len(_indices(gen_state, "bottleneck.r"))
        bottleneck_width = int(gen_state["bottleneck.r0.conv1.weight"].shape[0])
    except KeyError as exc:
        raise CheckpointError(
            f"cannot infer the model configuration: missing tensor {exc.args[0]!r}"
        ) from None
    return ModelConfig(
        num_kp=num_kp,
        num_channels=num_channels,
        estimate_jacobian=jac is not None,
        kp_detector=KeypointDetectorConfig(
            block_expansion=kp_be,
            max_features=kp_mf,
            num_blocks=kp_blocks,
            scale_factor=_scale_from_kernel(kp_state, "down.weight"),
            single_jacobian_map=single_map,
        ),
        generator=GeneratorConfig(
            block_expansion=gen_be,
            max_features=max(bottleneck_width, gen_be),
            num_down_blocks=num_down,
            num_bottleneck_blocks=num_bottleneck,
            estimate_occlusion_map="dense_motion_network.occlusion.weight" in gen_state,
            dense_motion=DenseMotionConfig(
                block_expansion=dm_be,
                max_features=dm_mf,
                num_blocks=dm_blocks,
                scale_factor=_scale_from_kernel(gen_state, "dense_motion_network.down.weight"),
            ),
        ),
    )


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def build_model(config: ModelConfig, *, meta: bool = False) -> FommModel:
    """Build the networks; ``meta=True`` skips weight initialisation (to load into)."""
    if meta:
        with torch.device("meta"):
            return FommModel(config)
    return FommModel(config)


@functools.cache
def _official_shapes(name: str) -> dict[str, tuple[int, ...]]:
    return _shapes(build_model(official_config(name), meta=True))


def matching_official_config(config: ModelConfig) -> str | None:
    """Name of the first official config whose tensor shapes equal ``config``'s."""
    base = official_config("vox-256")
    if (config.num_kp, config.kp_detector.block_expansion, config.generator.block_expansion) != (
        base.num_kp,
        base.kp_detector.block_expansion,
        base.generator.block_expansion,
    ):
        return None  # cheap rejection: no need to build anything
    shapes = _shapes(build_model(config, meta=True))
    for name, (official, _) in OFFICIAL_CONFIGS.items():
        if official.kp_detector.single_jacobian_map != config.kp_detector.single_jacobian_map:
            continue
        if _official_shapes(name) == shapes:
            return name
    return None


def _fill_batch_counters(state: StateDict, expected: Mapping[str, tuple[int, ...]]) -> None:
    # Very old files may lack BN's num_batches_tracked (unused at inference).
    for key in expected:
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.tensor(0, dtype=torch.long)


def _check_keys(
    part: str,
    state: StateDict,
    expected: Mapping[str, tuple[int, ...]],
    path: Path,
    config_source: str,
) -> None:
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    if not (missing or unexpected or mismatched):
        return

    def listing(items: list[str]) -> str:
        shown = ", ".join(items[:4])
        return shown + (f" (+{len(items) - 4} more)" if len(items) > 4 else "")

    problems = []
    if missing:
        problems.append(f"missing keys: {listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {listing(mismatched)}")
    if len(missing) == len(expected):
        cause = "this does not look like an FOMM checkpoint"
    elif mismatched and config_source == "override":
        cause = "the --config given does not fit this file; try without it"
    elif missing and not unexpected and not mismatched:
        cause = "the file looks truncated or partial"
    else:
        cause = "the file is not an FOMM checkpoint of a supported layout"
    raise CheckpointError(
        f"{path}: {part} weights do not fit the model ({'; '.join(problems)}); likely cause: "
        f"{cause}"
    )


def _load_part(
    module: torch.nn.Module, state: StateDict, part: str, path: Path, config_source: str
) -> None:
    expected = _shapes(module)
    _fill_batch_counters(state, expected)
    _check_keys(part, state, expected, path, config_source)
    # Stored fp16 weights (our shipped model) are promoted back to float32.
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    module.load_state_dict(state, strict=True, assign=True)


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    config: str | ModelConfig | None = None,
    device: str | torch.device = "cpu",
    align_corners: bool | None = None,
) -> LoadedCheckpoint:
    """Load an official or animatecli checkpoint into an eval-mode :class:`FommModel`.

    ``config`` overrides the configuration (an official name like ``"vox-256"`` or a
    :class:`ModelConfig`); by default it comes from the file (our format) or is inferred
    from the tensor shapes (official files). ``align_corners`` overrides the warp
    convention; by default our files carry the one they were trained with and official
    files get False (what the reference numbers use).
    """
    path = Path(path)
    container = read_checkpoint_file(path)
    kp_state = _state_dict(container, "kp_detector", path)
    gen_state = _state_dict(container, "generator", path)
    is_ours = container.get("format") == FORMAT_TAG
    metadata = dict(container.get("metadata") or {}) if is_ours else {}

    name: str | None = None
    if config is not None:
        if isinstance(config, str):
            try:
                resolved = official_config(config)
            except KeyError:
                known = ", ".join(OFFICIAL_CONFIGS)
                raise CheckpointError(f"unknown config '{config}' (known: {known})") from None
            name = config
        else:
            resolved = config
        source = "override"
    elif is_ours:
        resolved = ModelConfig.from_dict(container["config"])
        source = "file"
    else:
        resolved = infer_config(kp_state, gen_state)
        source = "inferred"

    # A plain CPU build: the meta device would skip weight init but costs a one-time
    # ~1 s lazy import inside torch, more than initialising even the vox-256 networks.
    model = build_model(resolved)
    _load_part(model.kp_detector, kp_state, "keypoint detector", path, source)
    _load_part(model.generator, gen_state, "generator", path, source)
    if align_corners is None:
        align_corners = bool(container.get("align_corners", False)) if is_ours else False
    model.set_align_corners(align_corners)
    model.eval().requires_grad_(False)
    model.to(device)
    if name is None:
        name = matching_official_config(resolved)
        if name is not None and source == "inferred":
            # Report the official config exactly (its max_features caps are not inferable).
            resolved = replace(official_config(name), frame_shape=resolved.frame_shape)
            model.config = resolved
    return LoadedCheckpoint(
        model=model,
        config=resolved,
        path=path,
        kind="animatecli" if is_ours else "official",
        config_source=source,
        config_name=name,
        metadata=metadata,
        align_corners=align_corners,
    )


def official_container(model: FommModel) -> dict[str, Any]:
    """The official container layout (``kp_detector`` / ``generator`` state dicts)."""
    return {
        "kp_detector": model.kp_detector.state_dict(),
        "generator": model.generator.state_dict(),
    }


def save_checkpoint(
    path: str | os.PathLike[str],
    model: FommModel,
    metadata: Mapping[str, Any] | None = None,
    *,
    half: bool = False,
) -> None:
    """Write our format atomically; ``half`` stores float weights as fp16 (half the size).

    ``metadata`` must be JSON-like (str, numbers, bools, None, lists, dicts) so that the
    file stays loadable with ``weights_only=True``.
    """
    path = Path(path)

    def convert(state: Mapping[str, torch.Tensor]) -> StateDict:
        return {
            k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
            for k, v in state.items()
        }

    payload = {
        "format": FORMAT_TAG,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        # The warp convention is part of what the weights learned (see set_align_corners).
        "align_corners": model.generator.align_corners,
        "metadata": dict(metadata or {}),
        "kp_detector": convert(model.kp_detector.state_dict()),
        "generator": convert(model.generator.state_dict()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a model file is not a secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
