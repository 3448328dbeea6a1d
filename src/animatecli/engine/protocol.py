"""What every model family implements, and the few types the family-blind engine passes
around.

A family (FOMM, TPSMM, …) is a :class:`MotionModel`: a module that finds keypoints in
frames, does the source-only work once (:meth:`~MotionModel.encode_source`), turns
driving keypoints into the ones its generator sees under a :class:`MotionMode`
(:meth:`~MotionModel.transfer`) and generates a batch of frames
(:meth:`~MotionModel.generate`). The :class:`~animatecli.engine.animator.Animator` only
calls these; checkpoints go through :meth:`~MotionModel.checkpoint_parts`. Keypoints
may carry per-keypoint extras, which the model declares
(:attr:`~MotionModel.keypoint_extras`) with how relative motion transforms them.

Each family also describes its checkpoints with one :class:`Family` record (how to
recognise them, infer and name their configuration, build the model; its motion modes;
each official configuration's file name and domain); the registry lists those records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

import torch
from torch import nn

from ..errors import InputError
from .keypoints import KeypointExtra, Keypoints
from .motion import ModeSpec, MotionMode, normalize_keypoints


class Generated(Protocol):
    """What :meth:`MotionModel.generate` returns; families add their own diagnostics."""

    prediction: torch.Tensor  # B×3×H×W in (0, 1)
    deformed: torch.Tensor | None  # the source warped by the dense motion, when asked for


class FamilyConfig(Protocol):
    """A family's model configuration: JSON-able, with the frame size it works at."""

    frame_shape: tuple[int, int]

    def to_dict(self) -> dict[str, Any]: ...


class UnsupportedMode(InputError):
    """The model cannot animate in the requested :class:`MotionMode` (a usage error)."""


class MotionModel(nn.Module, ABC):
    """The interface between one family's networks and the family-blind engine.

    Every tensor is channel-first; images are ``B×3×H×W`` float32 in ``[0, 1]`` at
    ``config.frame_shape``. Subclasses keep their keypoint and motion arithmetic in
    float32 under autocast (see ``blocks.float32_forward``).
    """

    family: ClassVar[str]
    # The per-keypoint extras this family's keypoints may carry, and how relative motion
    # transforms them (shared code maps over the rest without knowing them).
    keypoint_extras: ClassVar[tuple[KeypointExtra, ...]] = ()
    config: FamilyConfig

    @property
    @abstractmethod
    def modes(self) -> tuple[MotionMode, ...]:
        """The motion modes this model supports, by canonical name (``standard`` counts
        as ``absolute``); a subset of its family's declared modes."""

    @abstractmethod
    def checkpoint_parts(self) -> dict[str, nn.Module]:
        """The networks by their entry name in the official container, in saving order."""

    @property
    @abstractmethod
    def align_corners(self) -> bool:
        """The warp convention every grid sample and field resize uses."""

    @abstractmethod
    def set_align_corners(self, align_corners: bool) -> None:
        """Switch the warp convention of every warp at once."""

    @abstractmethod
    def detect(self, images: torch.Tensor) -> Keypoints:
        """Keypoints of ``B×3×H×W`` frames."""

    @abstractmethod
    def encode_source(self, source: torch.Tensor) -> Any:
        """The work that depends on a ``1×3×H×W`` source alone (cached by the Animator)."""

    @abstractmethod
    def generate(
        self,
        encoding: Any,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> Generated:
        """One frame per row of ``kp_driving`` (already transferred) from the encoding."""

    def supports(self, mode: MotionMode) -> bool:
        return mode.canonical in self.modes

    def check_mode(self, mode: MotionMode) -> None:
        """Raise :class:`UnsupportedMode` (one line naming the choices) if unsupported."""
        if not self.supports(mode):
            known = ", ".join(m.value for m in self.modes)
            raise UnsupportedMode(
                f"--mode {mode.value} is not available for this {self.family.upper()} model "
                f"(modes: {known})"
            )

    def transfer(
        self,
        kp_source: Keypoints,
        kp_driving: Keypoints,
        kp_initial: Keypoints,
        mode: MotionMode,
        scale: float,
    ) -> Keypoints:
        """The driving keypoints the generator sees under ``mode``.

        ``relative``: ``(driving − initial)·scale + source``, the extras through their
        declared :attr:`keypoint_extras` transforms (FOMM's Jacobians, §5.3);
        ``absolute``: driving unchanged. Families with more modes extend this.
        """
        self.check_mode(mode)
        return normalize_keypoints(
            kp_source,
            kp_driving,
            kp_initial,
            relative=mode.canonical is MotionMode.RELATIVE,
            extras=self.keypoint_extras,
            scale=scale,
        )


StateDict = dict[str, torch.Tensor]

# What an official configuration was trained on: faces (``auto`` crops to the face), or
# whole bodies and objects (the picture goes in as it is).
Domain = Literal["face", "body"]


class OfficialConfig(NamedTuple):
    """A released configuration: the config, its checkpoint's file name, its domain."""

    config: Any
    file_name: str
    domain: Domain = "face"


@dataclass(frozen=True)
class Family:
    """How the engine recognises, configures and builds one family's checkpoints.

    ``required_parts``/``optional_parts``: the state dicts an official container holds
    (a file is this family's when it has every required part). ``official_configs``:
    name → :class:`OfficialConfig`. ``modes``: every motion mode the family can offer
    (the shared ones first; a model may lack some, see :attr:`MotionModel.modes`).
    ``infer_config`` reads a config off the parts'
    tensor shapes (raising ``KeyError`` for a missing tensor); ``build`` makes the model
    with the optional parts present in the file; ``matching_official_config`` names the
    official config a config (and a file name) corresponds to, if any.
    ``default_align_corners``: the warp convention of official files.
    """

    name: str
    title: str
    required_parts: tuple[str, ...]
    optional_parts: tuple[str, ...]
    official_configs: Mapping[str, OfficialConfig]
    config_from_dict: Callable[[dict[str, Any]], Any]
    infer_config: Callable[[Mapping[str, StateDict]], Any]
    build: Callable[[Any, Collection[str]], MotionModel]
    matching_official_config: Callable[[Any, str], str | None]
    default_align_corners: bool
    modes: tuple[ModeSpec, ...]

    def official_config(self, name: str) -> Any:
        """An official configuration by name; KeyError if this family has none of it."""
        return self.official_configs[name].config

    def domain_of(self, config_name: str | None) -> Domain:
        """What this family's configuration ``config_name`` animates; a config that is not
        an official one (None, a custom one) counts as a face model."""
        official = self.official_configs.get(config_name) if config_name else None
        return "face" if official is None else official.domain
