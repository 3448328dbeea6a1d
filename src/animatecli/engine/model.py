"""The pair of networks a checkpoint holds, built from one :class:`ModelConfig`."""

from __future__ import annotations

from torch import nn

from .config import ModelConfig
from .generator import OcclusionAwareGenerator
from .keypoints import KeypointDetector


class FommModel(nn.Module):
    """Keypoint detector + occlusion-aware generator (with its dense motion network).

    State-dict layout matches the official checkpoints: ``kp_detector.*`` and
    ``generator.*`` are exactly the official ``kp_detector`` and ``generator`` dicts.
    """

    def __init__(self, config: ModelConfig, align_corners: bool = False):
        super().__init__()
        self.config = config
        self.kp_detector = KeypointDetector(
            config.num_kp, config.num_channels, config.estimate_jacobian, config.kp_detector
        )
        self.generator = OcclusionAwareGenerator(
            config.num_kp, config.num_channels, config.generator, align_corners
        )

    def set_align_corners(self, align_corners: bool) -> None:
        """See :meth:`OcclusionAwareGenerator.set_align_corners`."""
        self.generator.set_align_corners(align_corners)
