"""The ``dlib`` backend: dlib's HOG frontal-face detector and its 68-point shape predictor.

Fully offline: the HOG detector is compiled into dlib (``dlib-bin``) and the landmark model
ships inside the ``face-recognition-models`` package (``shape_predictor_68_face_landmarks.dat``,
the iBUG 300-W layout face-alignment also uses). The predictor was trained on the iBUG 300-W
data set, whose licence excludes commercial use; see the README's Faces section.

The HOG detector scans a fixed 80×80 window over an image pyramid, so the smallest face it
finds is 80 px in the image it sees. We run it on a resized copy chosen so that the smallest
face the caller wants (``min_face``) becomes exactly that window: big faces in big frames are
found on a small, fast copy; small faces in wide shots on an enlarged one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from animatecli.faces.types import (
    DetectorUnavailable,
    FaceBox,
    Landmarks,
    check_image,
    scaled_copy,
)

# Side of the HOG detector's window: its smallest detectable face, in the pixels it sees.
HOG_WINDOW = 80
# Without a ``min_face``: a photo or frame larger than `DEFAULT_WORK_SIDE` is shrunk to it
# (faces of at least 1/8 of its longest side are found); a model-sized face crop smaller
# than `MIN_WORK_SIDE` is enlarged to it, so a face filling a third of it reaches the window.
DEFAULT_WORK_SIDE = 640
MIN_WORK_SIDE = 256
# With a ``min_face``: enlarging a video frame past twice its size costs four times the time
# for faces too blurry to animate anyway.
MAX_UPSCALE = 2.0
_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"


def dlib_installed() -> bool:
    """Whether the ``dlib`` module can be imported (checked without importing it)."""
    return importlib.util.find_spec("dlib") is not None


def shape_predictor_path() -> Path | None:
    """The 68-point model file of ``face-recognition-models``, None when not installed.

    Found without importing that package: its ``__init__`` needs ``pkg_resources``, which
    recent setuptools no longer provides.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / _PREDICTOR_FILE
    return path if path.is_file() else None


def dlib_missing_reason() -> str | None:
    """A one-line reason why the dlib backend cannot run, or None when it can."""
    if not dlib_installed():
        return "dlib is not installed (pip install dlib-bin)"
    if shape_predictor_path() is None:
        return "the 68-point model is missing (pip install face-recognition-models)"
    return None


def detection_scale(image_hw: tuple[int, int], min_face: float | None) -> float:
    """Factor applied to an image before HOG detection.

    With ``min_face`` (px in the caller's image) the factor maps that size onto the HOG
    window, at most `MAX_UPSCALE`; without, the longest side is brought into
    [`MIN_WORK_SIDE`, `DEFAULT_WORK_SIDE`].
    """
    if min_face is None:
        longest = max(image_hw)
        return (
            min(1.0, DEFAULT_WORK_SIDE / longest)
            if longest >= MIN_WORK_SIDE
            else (MIN_WORK_SIDE / longest)
        )
    if min_face <= 0:
        raise ValueError(f"min_face must be positive, got {min_face}")
    return min(MAX_UPSCALE, HOG_WINDOW / min_face)


class DlibBackend:
    """HOG face boxes and 68-point landmarks from dlib, offline.

    Args:
        min_face: smallest face to find, px in the images given to `detect`; sets the
            detection scale (see `detection_scale`). None: faces of 1/8 of the longest side.

    Raises:
        DetectorUnavailable: dlib or the landmark model is not installed.
    """

    name = "dlib"
    supports_landmarks = True

    def __init__(self, min_face: float | None = None) -> None:
        reason = dlib_missing_reason()
        if reason is not None:
            raise DetectorUnavailable(reason)
        import dlib

        self.min_face = min_face
        self._dlib: Any = dlib
        self._hog = dlib.get_frontal_face_detector()
        self._predictor: Any = None  # loaded on first use: 100 MB, ~1 s

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces in an H×W×3 uint8 RGB image, best first; score = the SVM margin (> 0)."""
        check_image(image)
        f = detection_scale(image.shape[:2], self.min_face)
        small = np.ascontiguousarray(scaled_copy(image, f))
        rects, scores, _ = self._hog.run(small, 0, 0.0)
        boxes = [
            FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s)).scaled(1.0 / f)
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(boxes, key=lambda b: -b.score)

    def landmarks_for(self, image: np.ndarray, box: FaceBox) -> Landmarks:
        """68×2 float64 landmarks (x, y pixels) of the face in ``box``."""
        if self._predictor is None:
            self._predictor = self._dlib.shape_predictor(str(shape_predictor_path()))
        rect = self._dlib.rectangle(
            round(box.x1), round(box.y1), round(box.x2) - 1, round(box.y2) - 1
        )
        shape = self._predictor(np.ascontiguousarray(image), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def landmarks(self, image: np.ndarray) -> list[Landmarks]:
        """68×2 float64 landmarks, one per detected face, best face first."""
        return [self.landmarks_for(image, box) for box in self.detect(image)]
