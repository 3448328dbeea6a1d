"""Our motion-model engine: pure torch, no I/O, nothing imported from the rest of the
package except the error types.

Family-blind at this level (the protocol, the registry, the Animator, checkpoints);
each family lives in its own subpackage: :mod:`.fomm` and :mod:`.tpsmm`.
"""

from .animator import (
    AnimationSession,
    Animator,
    FrameTransfer,
    GroupSession,
    PendingFrames,
    PreparedSource,
    frames_to_tensor,
    tensor_to_frames,
)
from .checkpoint import (
    LoadedCheckpoint,
    checkpoint_payload,
    load_checkpoint,
    official_container,
)
from .graphs import GraphedSession
from .keypoints import Keypoints
from .motion import MotionMode, movement_scale, normalize_keypoints
from .protocol import Family, MotionModel, UnsupportedMode
from .registry import FAMILIES, family_named
from .smoothing import KeypointSmoother, OneEuroSettings

__all__ = [
    "FAMILIES",
    "AnimationSession",
    "Animator",
    "Family",
    "FrameTransfer",
    "GraphedSession",
    "GroupSession",
    "KeypointSmoother",
    "Keypoints",
    "LoadedCheckpoint",
    "MotionMode",
    "MotionModel",
    "OneEuroSettings",
    "PendingFrames",
    "PreparedSource",
    "UnsupportedMode",
    "checkpoint_payload",
    "family_named",
    "frames_to_tensor",
    "load_checkpoint",
    "movement_scale",
    "normalize_keypoints",
    "official_container",
    "tensor_to_frames",
]
