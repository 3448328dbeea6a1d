"""The First Order Motion Model (Siarohin et al., NeurIPS 2019): keypoints with local
Jacobians, dense motion with an occlusion map, occlusion-aware generator."""

from .config import OFFICIAL_CONFIGS, ModelConfig, official_config
from .family import FAMILY, build_model, infer_config, matching_official_config
from .model import FommModel

__all__ = [
    "FAMILY",
    "OFFICIAL_CONFIGS",
    "FommModel",
    "ModelConfig",
    "build_model",
    "infer_config",
    "matching_official_config",
    "official_config",
]
