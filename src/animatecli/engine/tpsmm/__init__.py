"""The Thin-Plate Spline Motion Model (Zhao & Zhang, CVPR 2022): ResNet-18 keypoints,
thin-plate spline transforms, multi-resolution occlusion, inpainting network, AVD."""

from .config import OFFICIAL_CONFIGS, TpsmmConfig
from .family import FAMILY, build, infer_config, matching_official_config
from .model import TpsmmModel

__all__ = [
    "FAMILY",
    "OFFICIAL_CONFIGS",
    "TpsmmConfig",
    "TpsmmModel",
    "build",
    "infer_config",
    "matching_official_config",
]
