"""Our FOMM inference engine: pure torch, no I/O, nothing imported from the rest of the
package except the error types."""

from .animator import (
    AnimationSession,
    Animator,
    PreparedSource,
    frames_to_tensor,
    tensor_to_frames,
)
from .checkpoint import (
    LoadedCheckpoint,
    build_model,
    infer_config,
    load_checkpoint,
    official_container,
    save_checkpoint,
)
from .config import OFFICIAL_CONFIGS, ModelConfig, official_config
from .keypoints import Keypoints
from .model import FommModel
from .motion import MotionMode, movement_scale, normalize_keypoints

__all__ = [
    "OFFICIAL_CONFIGS",
    "AnimationSession",
    "Animator",
    "FommModel",
    "Keypoints",
    "LoadedCheckpoint",
    "ModelConfig",
    "MotionMode",
    "PreparedSource",
    "build_model",
    "frames_to_tensor",
    "infer_config",
    "load_checkpoint",
    "movement_scale",
    "normalize_keypoints",
    "official_config",
    "official_container",
    "save_checkpoint",
    "tensor_to_frames",
]
