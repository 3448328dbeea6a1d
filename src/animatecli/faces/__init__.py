"""Face processing: detection, crop geometry, tube tracking, best-frame search, paste-back.

Importing this package is cheap: torch (through face-alignment), scikit-image and OpenCV are
imported only when a detector is built or a frame is processed.
"""

from animatecli.faces.detect import (
    FACE_ALIGNMENT_WEIGHT_URLS,
    DetectorKind,
    DetectorUnavailable,
    FaceAlignmentBackend,
    FaceBox,
    FaceDetector,
    LbpCascadeBackend,
    confident_score,
    face_alignment_checkpoint_dir,
    face_alignment_weight_paths,
    face_alignment_weights_available,
    make_detector,
)
from animatecli.faces.geometry import (
    BoxLike,
    enlarge_box,
    iou,
    is_tight_face_crop,
    square_crop_box,
)
from animatecli.faces.landmarks import BestFrameSearch, landmark_distance, normalize_landmarks
from animatecli.faces.paste import PasteBack
from animatecli.faces.tracking import FaceTube, TubeTracker, track_faces

__all__ = [
    "FACE_ALIGNMENT_WEIGHT_URLS",
    "BestFrameSearch",
    "BoxLike",
    "DetectorKind",
    "DetectorUnavailable",
    "FaceAlignmentBackend",
    "FaceBox",
    "FaceDetector",
    "FaceTube",
    "LbpCascadeBackend",
    "PasteBack",
    "TubeTracker",
    "confident_score",
    "enlarge_box",
    "face_alignment_checkpoint_dir",
    "face_alignment_weight_paths",
    "face_alignment_weights_available",
    "iou",
    "is_tight_face_crop",
    "landmark_distance",
    "make_detector",
    "normalize_landmarks",
    "square_crop_box",
    "track_faces",
]
