"""Whether a job's inputs show a real, photographed face: the bundled model was trained on
procedural cartoon heads only, so a job that gives it a real face says so once
(`catalogue.BUNDLED_ON_REAL_FACE_NOTICE`) and names the model that fits.

dlib's HOG detector is the offline real-face detector, but it also finds our cartoon heads
(its margins on them reach 1.9, above the 1.5 of scikit-image's astronaut), so a detection
alone does not tell. What does is the face's fine detail: a photographed face has skin
texture, pores, hair and sensor grain; our renders are smooth shading. Measured as the
median absolute Laplacian of the face box brought to 128×128 grey (`face_detail`): at most
2 on 150 renders of held-out cartoon heads as PNG and 3 after H.264 (CRF 18 and 28, the
examples' own frames included); 5 on the astronaut at 512 and 800 px, 4 after JPEG at
quality 30 or H.264 at CRF 23. A face at or above `REAL_FACE_DETAIL` counts as real. A
blurred, denoised or heavily compressed photo can fall below it (the notice is then not
said); a smooth drawing never reaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .. import faces, media
from ..catalogue import BUNDLED_ON_REAL_FACE_NOTICE
from ..faces.detectors.dlib_hog import dlib_missing_reason

if TYPE_CHECKING:
    from .job import AnimationJob

# The median absolute Laplacian (grey levels) from which a face box shows photographic detail.
REAL_FACE_DETAIL = 4.0
_DETAIL_SIDE = 128  # faces are compared at one size: detail depends on the scale


def face_detail(image: np.ndarray, box: faces.FaceBox) -> float:
    """Median absolute Laplacian of ``box`` in ``image`` (H×W×3 uint8 RGB), the box brought
    to 128×128 grey: ~2 for smooth renders, 4 or more for photographed faces."""
    h, w = image.shape[:2]
    x0, y0 = max(0, round(box.x1)), max(0, round(box.y1))
    x1, y1 = min(w, round(box.x2)), min(h, round(box.y2))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    side = (_DETAIL_SIDE, _DETAIL_SIDE)
    crop = cv2.resize(image[y0:y1, x0:x1], side, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.median(np.abs(cv2.Laplacian(grey, cv2.CV_32F))))


def shows_real_face(image: np.ndarray, detector: faces.FaceDetector) -> bool:
    """Whether ``detector`` (dlib's) finds a face in ``image`` with photographic detail."""
    return any(face_detail(image, box) >= REAL_FACE_DETAIL for box in detector.detect(image))


def say_if_bundled_model_on_real_face(
    job: AnimationJob, photo: np.ndarray, driving: media.VideoInfo
) -> None:
    """One notice when the job runs the bundled cartoon model and the photo or the driving
    video's first frame shows a real face. Costs one dlib pass over the photo (and one
    decoded frame) with the bundled model only; nothing otherwise."""
    if not job.runtime.bundled or dlib_missing_reason() is not None:
        return
    detector = job.detector("dlib")
    if not shows_real_face(photo, detector):
        with media.VideoReader(driving.path, stop=1, info=driving) as reader:
            first = next(iter(reader), None)
        if first is None or not shows_real_face(first, detector):
            return
    job.notice(BUNDLED_ON_REAL_FACE_NOTICE)
