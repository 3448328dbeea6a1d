"""Face processing: detection, crop geometry, tube tracking, streamed scans,
best-frame search, paste-back.

Importing this package is cheap: torch (through face-alignment), dlib, scikit-image and OpenCV
are imported only when a detector is built or a frame is processed.
"""

from animatecli.faces.boxes import (
    BoxLike,
    enlarge_box,
    iou,
    is_tight_face_crop,
    square_crop_box,
)
from animatecli.faces.crop_path import (
    TRACK_MODES,
    CropPath,
    crop_paths,
    fixed_path,
    following_path,
)
from animatecli.faces.detectors import (
    AUTO_ORDER,
    DETECTOR_KINDS,
    BackendStatus,
    DetectorKind,
    DlibBackend,
    FaceAlignmentBackend,
    LbpCascadeBackend,
    backend_statuses,
    confident_score,
    make_detector,
)
from animatecli.faces.detectors.face_alignment_fan import (
    FACE_ALIGNMENT_WEIGHT_URLS,
    face_alignment_checkpoint_dir,
    face_alignment_weight_paths,
    face_alignment_weights_available,
)
from animatecli.faces.landmarks import BestFrameSearch, landmark_distance, normalize_landmarks
from animatecli.faces.paste import GroupPasteBack, PasteBack
from animatecli.faces.scan import FaceScan, interpolate_box
from animatecli.faces.tracking import (
    FaceTracker,
    TubeTracker,
    default_min_face,
    default_stride,
    fomm_segments,
    track_faces,
    tube_rejection,
)
from animatecli.faces.types import (
    DetectorUnavailable,
    FaceBox,
    FaceDetector,
    FaceTube,
    Landmarks,
)

__all__ = [
    "AUTO_ORDER",
    "DETECTOR_KINDS",
    "FACE_ALIGNMENT_WEIGHT_URLS",
    "TRACK_MODES",
    "BackendStatus",
    "BestFrameSearch",
    "BoxLike",
    "CropPath",
    "DetectorKind",
    "DetectorUnavailable",
    "DlibBackend",
    "FaceAlignmentBackend",
    "FaceBox",
    "FaceDetector",
    "FaceScan",
    "FaceTracker",
    "FaceTube",
    "GroupPasteBack",
    "Landmarks",
    "LbpCascadeBackend",
    "PasteBack",
    "TubeTracker",
    "backend_statuses",
    "confident_score",
    "crop_paths",
    "default_min_face",
    "default_stride",
    "enlarge_box",
    "face_alignment_checkpoint_dir",
    "face_alignment_weight_paths",
    "face_alignment_weights_available",
    "fixed_path",
    "following_path",
    "fomm_segments",
    "interpolate_box",
    "iou",
    "is_tight_face_crop",
    "landmark_distance",
    "make_detector",
    "normalize_landmarks",
    "square_crop_box",
    "track_faces",
    "tube_rejection",
]
