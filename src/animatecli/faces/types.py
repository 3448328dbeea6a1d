"""The face layer's data types, shared by every detector backend, the tracker and the crops.

Images are always H×W×3 ``uint8`` RGB; boxes are float pixel coordinates ``(x1, y1, x2, y2)``
in that image; landmarks are 68×2 float arrays of ``(x, y)`` pixels in the iBUG 300-W order
(jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np

from animatecli.errors import InputError

# A 68×2 float64 array of (x, y) pixels, iBUG 300-W point order.
Landmarks: TypeAlias = np.ndarray


class DetectorUnavailable(InputError):
    """The requested face detector cannot be constructed (weights missing, package missing):
    a usage error (exit 2), like an unusable --device."""


@dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face box in float pixel coordinates, ``x2 > x1`` and ``y2 > y1``.

    ``score`` is backend specific: a probability in [0, 1] for S3FD, the HOG/SVM margin for
    dlib, the number of merged cascade windows for LBP. Only compare scores of one backend.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0

    @property
    def width(self) -> float:
        """Width ``x2 - x1`` in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Height ``y2 - y1`` in pixels."""
        return self.y2 - self.y1

    @property
    def side(self) -> float:
        """The longer of width and height, px (the size a square crop is built from)."""
        return max(self.width, self.height)

    @property
    def area(self) -> float:
        """Area in square pixels (0 for an empty or inverted box)."""
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        """Centre ``(x, y)`` in pixels."""
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def scaled(self, f: float) -> FaceBox:
        """All coordinates multiplied by ``f`` (e.g. map a box found on a downscaled copy)."""
        return FaceBox(self.x1 * f, self.y1 * f, self.x2 * f, self.y2 * f, self.score)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` without the score."""
        return (self.x1, self.y1, self.x2, self.y2)


@runtime_checkable
class FaceDetector(Protocol):
    """What every backend offers."""

    name: str
    supports_landmarks: bool

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces in an H×W×3 uint8 RGB image, sorted by score, best first."""
        ...

    def landmarks(self, image: np.ndarray) -> list[Landmarks]:
        """68×2 float landmark arrays (x, y pixels), one per face, best face first.

        Only backends with ``supports_landmarks`` implement it; others raise NotImplementedError.
        """
        ...

    def landmarks_for(self, image: np.ndarray, box: FaceBox) -> Landmarks:
        """68×2 landmarks of the face in ``box`` (no detection run); landmark backends only."""
        ...


@dataclass
class FaceTube:
    """One face followed over consecutive frames.

    Attributes:
        initial_box: the detection that opened the tube.
        union_box: the smallest box containing every detection of the tube (FOMM's crop).
        start_frame: index of the first frame.
        end_frame: index of the last frame with a matching detection (inclusive).
        boxes: frame index -> the detection used for that frame (detected frames only).
        closed: True once the tube can never grow again.
    """

    initial_box: FaceBox
    union_box: FaceBox
    start_frame: int
    end_frame: int
    boxes: dict[int, FaceBox] = field(default_factory=dict)
    closed: bool = False

    @property
    def num_frames(self) -> int:
        """Frames spanned, ``end_frame - start_frame + 1`` (skipped frames included)."""
        return self.end_frame - self.start_frame + 1

    @property
    def median_side(self) -> float:
        """Median face size over the tube's detections, px (robust to one odd box)."""
        return float(np.median([b.side for b in self.boxes.values()]))


def check_image(image: np.ndarray) -> None:
    """Reject anything but an H×W×3 uint8 array: a wrong layout would silently find nothing."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an H×W×3 RGB image, got shape {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")


def scaled_copy(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` resized by ``factor`` (area filter when shrinking); the image itself at 1."""
    if factor == 1.0:
        return image
    import cv2

    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interpolation = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)
