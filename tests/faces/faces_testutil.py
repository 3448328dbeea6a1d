"""Helpers for the faces tests: synthetic frames built from skimage's astronaut photo.

The astronaut (512×512, ``skimage.data.astronaut()``) ships with scikit-image, so these tests
use a real face without any download. Her face (forehead to chin, cheek to cheek) is at
``ASTRONAUT_FACE`` = (178, 62, 266, 168), measured by eye on the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from animatecli.faces import FaceBox

ASTRONAUT_FACE = (178.0, 62.0, 266.0, 168.0)
# Head and shoulders, like a webcam frame: excludes the helmet at the bottom right.
HEAD_CROP = (60, 0, 400, 330)


def astronaut() -> np.ndarray:
    """The 512×512×3 uint8 RGB astronaut photo (a fresh copy)."""
    from skimage import data

    return data.astronaut()


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Plain continuous IoU, independent of the code under test."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def make_canvas(h: int = 360, w: int = 640, kind: str = "noise", seed: int = 0) -> np.ndarray:
    """An h×w×3 uint8 background: ``"gray"`` or smooth ``"noise"`` (blurred random colours)."""
    if kind == "gray":
        return np.full((h, w, 3), 128, np.uint8)
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 3.0)


def place_astronaut(
    canvas: np.ndarray,
    scale: float,
    face_center: tuple[float, float],
    crop: tuple[int, int, int, int] = HEAD_CROP,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Paste ``astronaut[crop]`` scaled by ``scale`` so her face centre lands on ``face_center``.

    Returns the new canvas and the true face box on it (it may reach past the canvas).
    """
    cx0, cy0, cx1, cy1 = crop
    src = cv2.resize(
        astronaut()[cy0:cy1, cx0:cx1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
    )
    fx1, fy1, fx2, fy2 = ASTRONAUT_FACE
    face = ((fx1 - cx0) * scale, (fy1 - cy0) * scale, (fx2 - cx0) * scale, (fy2 - cy0) * scale)
    dx = round(face_center[0] - (face[0] + face[2]) / 2)
    dy = round(face_center[1] - (face[1] + face[3]) / 2)
    out = canvas.copy()
    hh, ww = out.shape[:2]
    sh, sw = src.shape[:2]
    x0, y0, x1, y1 = max(0, dx), max(0, dy), min(ww, dx + sw), min(hh, dy + sh)
    out[y0:y1, x0:x1] = src[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return out, (face[0] + dx, face[1] + dy, face[2] + dx, face[3] + dy)


def box_at(cx: float, cy: float, side: float = 100.0, score: float = 1.0) -> FaceBox:
    """A square box of ``side`` centred on (cx, cy)."""
    return FaceBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, score)
