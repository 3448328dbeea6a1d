"""The TPSMM networks a checkpoint holds, behind the engine's family protocol."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..keypoints import Keypoints
from ..motion import MotionMode
from ..protocol import MotionModel
from .avd import AvdNetwork
from .config import TpsmmConfig
from .dense_motion import DenseMotionNetwork
from .inpainting import InpaintingNetwork, TpsGenerated, TpsSourceEncoding
from .keypoints import KeypointDetector

# TPSMM's own mode: the AVD network re-poses the source's keypoints.
AVD_MODE = MotionMode("avd")


class TpsmmModel(MotionModel):
    """Keypoint detector, dense motion network, inpainting network and, when the
    checkpoint has one, the AVD network (which enables ``--mode avd``).

    State-dict layout matches the official container: one entry per network
    (``kp_detector``, ``dense_motion_network``, ``inpainting_network``, ``avd_network``).
    Warps use ``align_corners=True``, as the original passes explicitly.
    """

    family: ClassVar[str] = "tpsmm"
    config: TpsmmConfig

    def __init__(self, config: TpsmmConfig, *, with_avd: bool = False):
        super().__init__()
        self.config = config
        self.kp_detector = KeypointDetector(config.num_tps)
        self.dense_motion_network = DenseMotionNetwork(
            config.num_tps, config.num_channels, config.multi_mask, config.dense_motion
        )
        self.inpainting_network = InpaintingNetwork(config.num_channels, config.generator)
        self.avd_network = AvdNetwork(config.num_tps, config.avd) if with_avd else None

    @property
    def modes(self) -> tuple[MotionMode, ...]:
        plain = (MotionMode.RELATIVE, MotionMode.ABSOLUTE)
        return (*plain, AVD_MODE) if self.avd_network is not None else plain

    def checkpoint_parts(self) -> dict[str, nn.Module]:
        parts: dict[str, nn.Module] = {
            "kp_detector": self.kp_detector,
            "dense_motion_network": self.dense_motion_network,
            "inpainting_network": self.inpainting_network,
        }
        if self.avd_network is not None:
            parts["avd_network"] = self.avd_network
        return parts

    @property
    def align_corners(self) -> bool:
        return self.inpainting_network.align_corners

    def set_align_corners(self, align_corners: bool) -> None:
        """One switch for every warp and field resize (True is TPSMM's own convention)."""
        self.dense_motion_network.align_corners = align_corners
        self.inpainting_network.align_corners = align_corners

    def detect(self, images: torch.Tensor) -> Keypoints:
        return self.kp_detector(images)

    def encode_source(self, source: torch.Tensor) -> TpsSourceEncoding:
        return TpsSourceEncoding(
            source,
            self.inpainting_network.encode(source),
            self.dense_motion_network.downsample(source),
        )

    def transfer(
        self,
        kp_source: Keypoints,
        kp_driving: Keypoints,
        kp_initial: Keypoints,
        mode: MotionMode,
        scale: float,
    ) -> Keypoints:
        """``avd``: the AVD network's keypoints; otherwise the shared transfer (TPSMM has
        no Jacobians)."""
        if mode.canonical == AVD_MODE:
            self.check_mode(mode)
            assert self.avd_network is not None
            return self.avd_network(kp_source, kp_driving)
        return super().transfer(kp_source, kp_driving, kp_initial, mode, scale)

    def generate(
        self,
        encoding: TpsSourceEncoding,
        kp_driving: Keypoints,
        kp_source: Keypoints,
        *,
        with_deformed: bool = False,
    ) -> TpsGenerated:
        motion = self.dense_motion_network(
            encoding.image, kp_driving, kp_source, source_down=encoding.image_down
        )
        return self.inpainting_network.decode(encoding, motion, with_deformed=with_deformed)
