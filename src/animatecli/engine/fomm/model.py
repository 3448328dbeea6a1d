"""The pair of networks a FOMM checkpoint holds, behind the engine's family protocol."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..keypoints import Keypoints
from ..motion import MotionMode
from ..protocol import MotionModel
from .config import ModelConfig
from .generator import Generated, OcclusionAwareGenerator, SourceEncoding
from .keypoints import JACOBIAN_EXTRA, KeypointDetector


class FommModel(MotionModel):
    """Keypoint detector + occlusion-aware generator (with its dense motion network).

    State-dict layout matches the official checkpoints: ``kp_detector.*`` and
    ``generator.*`` are exactly the official ``kp_detector`` and ``generator`` dicts.
    """

    family: ClassVar[str] = "fomm"
    keypoint_extras = (JACOBIAN_EXTRA,)
    config: ModelConfig

    def __init__(self, config: ModelConfig, align_corners: bool = False):
        super().__init__()
        self.config = config
        self.kp_detector = KeypointDetector(
            config.num_kp, config.num_channels, config.estimate_jacobian, config.kp_detector
        )
        self.generator = OcclusionAwareGenerator(
            config.num_kp, config.num_channels, config.generator, align_corners
        )

    @property
    def modes(self) -> tuple[MotionMode, ...]:
        return (MotionMode.RELATIVE, MotionMode.ABSOLUTE)

    def checkpoint_parts(self) -> dict[str, nn.Module]:
        return {"kp_detector": self.kp_detector, "generator": self.generator}

    @property
    def align_corners(self) -> bool:
        return self.generator.align_corners

    def set_align_corners(self, align_corners: bool) -> None:
        """See :meth:`OcclusionAwareGenerator.set_align_corners`."""
        self.generator.set_align_corners(align_corners)

    def detect(self, images: torch.Tensor) -> Keypoints:
        return self.kp_detector(images)

    def encode_source(self, source: torch.Tensor) -> SourceEncoding:
        return self.generator.encode_source(source)

    def generate(
        self,
        encoding: SourceEncoding,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> Generated:
        return self.generator.decode(encoding, kp_driving, kp_source, with_deformed=with_deformed)
