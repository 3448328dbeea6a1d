"""Checkpoint loading, and our format's content, for every registered family.

Accepts a family's official container (a dict of its networks' state dicts, possibly
with discriminator/optimizer entries and ``epoch``; the registry recognises the family
from the entries present) and our own format (the same state dicts plus the family
name, a JSON-able ``config`` and ``metadata``: `checkpoint_payload` builds it, the caller
writes it with ``torch.save``; files written before families existed carry no name and
are FOMM). Every file is unpickled by torch's weights-only unpickler (:mod:`.lean_load`):
a file whose unpickling would construct arbitrary Python objects is refused before
anything runs, and only the networks inference needs are read (a released file's
discriminator and optimizer state never are). The networks are built unfilled (see
:mod:`.building`) and the tensors read become their parameters: the weights are in
memory once.

We keep our own format a plain weights-only torch file rather than safetensors: it needs
no extra dependency, loads through the same safe path as official files, and carries
nested metadata natively.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .building import uninitialised
from .config_limits import check_finite_weights, parse_file_config
from .lean_load import LazyCheckpoint, UnreadableCheckpoint, read_lazily
from .protocol import Family, FamilyConfig, MotionModel, StateDict
from .registry import FAMILIES, family_named, recognise
from .safe_load import describe_unloadable
from .shapes import shapes

FORMAT_TAG = "animatecli-checkpoint"
FORMAT_VERSION = 2  # 2: the family is recorded (version 1 files are FOMM)
_DATA_PARALLEL_PREFIX = "module."


@dataclass
class LoadedCheckpoint:
    """A loaded model with where its configuration came from.

    ``family`` names the model family (``"fomm"``, ``"tpsmm"``); ``config_source`` is
    ``"inferred"`` (from the tensor shapes), ``"file"`` (our format carries it) or
    ``"override"`` (given by the caller); ``config_name`` names the official
    configuration the shapes match, if any.
    """

    model: MotionModel
    config: FamilyConfig
    path: Path
    kind: str  # "official" or "animatecli"
    config_source: str
    config_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    align_corners: bool = False

    @property
    def family(self) -> str:
        return self.model.family

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for ``--json`` and ``animate doctor``."""
        return {
            "path": str(self.path),
            "family": self.family,
            "kind": self.kind,
            "config_source": self.config_source,
            "config_name": self.config_name,
            "config": self.config.to_dict(),
            "modes": [mode.value for mode in self.model.modes],
            "align_corners": self.align_corners,
            "metadata": self.metadata,
        }


def _lazy_checkpoint(path: Path) -> LazyCheckpoint:
    """The file's container with its tensors not yet read (see :mod:`.lean_load`)."""
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint is a directory, not a file: {path}")
    try:
        lazy = read_lazily(path)
    except Exception:  # foreign, truncated or unsafe files raise several types
        raise CheckpointError(f"cannot load {path}: {describe_unloadable(path)}") from None
    if not isinstance(lazy.container, Mapping):
        kind = type(lazy.container).__name__
        raise CheckpointError(f"{path} is not a model checkpoint: it holds a {kind}")
    return lazy


def read_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Safely read a checkpoint container whole (tensors and plain containers only)."""
    lazy = _lazy_checkpoint(Path(path))
    return dict(_materialise(lazy, lazy.container, Path(path)))


def _materialise(lazy: LazyCheckpoint, tree: Any, path: Path) -> Any:
    try:
        return lazy.materialise(tree)
    except (UnreadableCheckpoint, OSError) as exc:
        raise CheckpointError(f"cannot load {path}: {exc}") from None


def _found(container: Mapping[str, Any]) -> str:
    return ", ".join(sorted(map(str, container))[:8]) or "nothing"


def _family_of(container: Mapping[str, Any], path: Path) -> Family:
    if container.get("format") == FORMAT_TAG:
        name = container.get("family", "fomm")
        try:
            return family_named(name)
        except KeyError:
            raise CheckpointError(f"{path}: unknown model family '{name}'") from None
    family = recognise(container)
    if family is None:
        expected = "; ".join(f"{f.title}: {', '.join(f.required_parts)}" for f in FAMILIES)
        raise CheckpointError(
            f"{path} is not a checkpoint of a known model family (found: {_found(container)}; "
            f"expected the entries of {expected})"
        )
    return family


def _state_dict(container: Mapping[str, Any], name: str, family: Family, path: Path) -> StateDict:
    entry = container.get(name)
    if not isinstance(entry, Mapping):
        raise CheckpointError(
            f"{path} is not a {family.title} checkpoint: no '{name}' state dict "
            f"(found: {_found(container)})"
        )
    state: StateDict = {}
    for key, value in entry.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {name}.{key} is not a tensor")
        # DataParallel saves prefix every key with "module.".
        state[key.removeprefix(_DATA_PARALLEL_PREFIX)] = value
    return state


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
    family: Family,
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
        cause = f"this does not look like a {family.title} checkpoint"
    elif mismatched and config_source == "override":
        cause = "the --config given does not fit this file; try without it"
    elif missing and not unexpected and not mismatched:
        cause = "the file looks truncated or partial"
    else:
        cause = f"the file is not a {family.title} checkpoint of a supported layout"
    raise CheckpointError(
        f"{path}: {part} weights do not fit the model ({'; '.join(problems)}); likely cause: "
        f"{cause}"
    )


def _load_part(
    module: torch.nn.Module,
    state: StateDict,
    part: str,
    path: Path,
    config_source: str,
    family: Family,
) -> None:
    expected = shapes(module)
    _fill_batch_counters(state, expected)
    _check_keys(part, state, expected, path, config_source, family)
    # Stored fp16 weights (our shipped model) are promoted back to float32.
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    check_finite_weights(state, part)
    module.load_state_dict(state, strict=True, assign=True)


def _resolve_config(
    family: Family,
    config: str | Any | None,
    container: Mapping[str, Any],
    parts: Mapping[str, StateDict],
    is_ours: bool,
) -> tuple[Any, str, str | None]:
    """(config, where it came from, official name when given by name)."""
    if isinstance(config, str):
        try:
            return family.official_config(config), "override", config
        except KeyError:
            known = ", ".join(family.official_configs)
            elsewhere = [f.title for f in FAMILIES if config in f.official_configs]
            hint = f"; {config} is a {elsewhere[0]} config" if elsewhere else ""
            raise CheckpointError(
                f"unknown config '{config}' for this {family.title} checkpoint "
                f"(known: {known}{hint})"
            ) from None
    if config is not None:
        return config, "override", None
    if is_ours:
        return parse_file_config(family.config_from_dict, container.get("config")), "file", None
    try:
        return family.infer_config(parts), "inferred", None
    except KeyError as exc:
        raise CheckpointError(
            f"cannot infer the {family.title} model configuration: missing tensor {exc.args[0]!r}"
        ) from None


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    config: str | Any | None = None,
    device: str | torch.device = "cpu",
    align_corners: bool | None = None,
) -> LoadedCheckpoint:
    """Load an official or animatecli checkpoint of any registered family into an
    eval-mode :class:`MotionModel`.

    ``config`` overrides the configuration (an official name of the file's family like
    ``"vox-256"`` or ``"ted-384"``, or a config object); by default it comes from the
    file (our format) or is inferred from the tensor shapes (official files).
    ``align_corners`` overrides the warp convention; by default our files carry the one
    they were trained with and official files get their family's (FOMM: False, what the
    reference numbers use; TPSMM: True, what its code always passes).
    """
    path = Path(path)
    # Only the networks inference needs are read: a released file's discriminator and
    # optimizer moments (two thirds of it) stay on disk.
    lazy = _lazy_checkpoint(path)
    container = lazy.container
    family = _family_of(container, path)
    is_ours = container.get("format") == FORMAT_TAG
    metadata = dict(container.get("metadata") or {}) if is_ours else {}
    present = [n for n in family.optional_parts if isinstance(container.get(n), Mapping)]
    needed = (*family.required_parts, *present)
    container = {
        key: _materialise(lazy, value, path) if key in needed else value
        for key, value in container.items()
    }
    parts = {name: _state_dict(container, name, family, path) for name in needed}
    resolved, source, name = _resolve_config(family, config, container, parts, is_ours)

    # Unfilled networks: with assign=True the parameters become the file's tensors, so
    # the weights exist once (random ones would double the peak while the file is read).
    with uninitialised():
        model = family.build(resolved, present)
    for part, module in model.checkpoint_parts().items():
        _load_part(module, parts[part], part, path, source, family)
    if align_corners is None:
        default = family.default_align_corners
        align_corners = bool(container.get("align_corners", default)) if is_ours else default
    model.set_align_corners(align_corners)
    model.eval().requires_grad_(False)
    model.to(device)
    if name is None:
        name = family.matching_official_config(resolved, path.name)
        if name is not None and source == "inferred":
            # Report the official config exactly (e.g. max_features caps and frame sizes
            # are not inferable from tensors).
            resolved = family.official_config(name)
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


def official_container(model: MotionModel) -> dict[str, Any]:
    """The official container layout of the model's family (one state dict per network)."""
    return {name: module.state_dict() for name, module in model.checkpoint_parts().items()}


def checkpoint_payload(
    model: MotionModel, metadata: Mapping[str, Any] | None = None, *, half: bool = False
) -> dict[str, Any]:
    """Our format's content for ``model``, ready for ``torch.save``; ``half`` stores float
    weights as fp16 (half the size). Tensors are detached CPU copies.

    ``metadata`` must be JSON-like (str, numbers, bools, None, lists, dicts) so that the
    file stays loadable with ``weights_only=True``. Writing the file is the caller's
    (`animatecli.training.export.save_checkpoint`): the engine does no output I/O.
    """

    def convert(state: Mapping[str, torch.Tensor]) -> StateDict:
        return {
            k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
            for k, v in state.items()
        }

    return {
        "format": FORMAT_TAG,
        "version": FORMAT_VERSION,
        "family": model.family,
        "config": model.config.to_dict(),
        # The warp convention is part of what the weights learned (see set_align_corners).
        "align_corners": model.align_corners,
        "metadata": dict(metadata or {}),
        **{name: convert(state) for name, state in official_container(model).items()},
    }
