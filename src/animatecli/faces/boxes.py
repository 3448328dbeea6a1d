"""Pure box geometry: overlap, FOMM's crop rule, our square crop, the tight-crop heuristic.

Boxes are ``(x1, y1, x2, y2)`` in pixels (a `FaceBox` or any 4-sequence); frame sizes are
``(height, width)``. Integer crop boxes are half-open: ``image[y0:y1, x0:x1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from animatecli.faces.types import FaceBox
from animatecli.options import FACE_MARGIN

BoxLike = FaceBox | Sequence[float]
IntBox = tuple[int, int, int, int]


def _coords(box: BoxLike) -> tuple[float, float, float, float]:
    """``(x1, y1, x2, y2)`` floats from a FaceBox or a 4-sequence (extra items ignored)."""
    if isinstance(box, FaceBox):
        return box.as_tuple()
    x1, y1, x2, y2 = (float(v) for v in list(box)[:4])
    return x1, y1, x2, y2


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union with FOMM's inclusive-pixel convention.

    As in FOMM's ``crop-video.py``: a box covers pixels ``x1..x2`` inclusive, so its width is
    ``x2 - x1 + 1``. Kept exactly (rather than the continuous convention) so the tracking
    thresholds behave like FOMM's. Returns a value in [0, 1]; 0 for disjoint boxes.
    """
    ax1, ay1, ax2, ay2 = _coords(a)
    bx1, by1, bx2, by2 = _coords(b)
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1) + 1.0)
    ih = max(0.0, min(ay2, by2) - max(ay1, by1) + 1.0)
    inter = iw * ih
    area_a = (ax2 - ax1 + 1.0) * (ay2 - ay1 + 1.0)
    area_b = (bx2 - bx1 + 1.0) * (by2 - by1 + 1.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def _check_box(width: float, height: float) -> None:
    """Crop rules divide by the box size: reject empty boxes with a clear message."""
    if not (width > 0 and height > 0):
        raise ValueError(f"box must have positive width and height, got {width}×{height}")


def enlarge_box(
    box: BoxLike, increase: float = FACE_MARGIN, frame_hw: tuple[int, int] | None = None
) -> IntBox:
    """FOMM's crop rule (``compute_bbox`` in ``crop-video.py``), reproduced exactly.

    With ``W, H`` the box size and ``a = increase``, each side grows by at least ``a`` of the
    box and the shorter dimension grows more so that the result is square with side
    ``(1 + 2a) · max(W, H)``::

        wi = max(a, ((1 + 2a)·H − W) / (2W))      hi = max(a, ((1 + 2a)·W − H) / (2H))
        left = int(x1 − wi·W)   top = int(y1 − hi·H)   right = int(x2 + wi·W)   bot = int(y2 + hi·H)

    then clamped to the frame (``int`` truncates toward zero, as FOMM's does). Near a border the
    clamp makes the crop non-square, which is why our own outputs use `square_crop_box`.

    Args:
        box: the face (or tube union) box.
        increase: relative margin ``a`` on each side.
        frame_hw: ``(height, width)`` of the frame, for the clamp; None: no clamp.

    Returns:
        ``(left, top, right, bottom)`` ints, half-open, inside the frame.
    """
    x1, y1, x2, y2 = _coords(box)
    w, h = x2 - x1, y2 - y1
    _check_box(w, h)
    a = increase
    wi = max(a, ((1 + 2 * a) * h - w) / (2 * w))
    hi = max(a, ((1 + 2 * a) * w - h) / (2 * h))
    left = int(x1 - wi * w)
    top = int(y1 - hi * h)
    right = int(x2 + wi * w)
    bot = int(y2 + hi * h)
    if frame_hw is None:
        return left, top, right, bot
    fh, fw = frame_hw
    return max(0, left), max(0, top), min(right, fw), min(bot, fh)


def square_crop_box(
    box: BoxLike, increase: float = FACE_MARGIN, frame_hw: tuple[int, int] | None = None
) -> IntBox:
    """A square crop around the box that stays exactly square at the frame border.

    Same size as FOMM's rule (side ``(1 + 2·increase) · max(W, H)``, centred on the box), but
    where FOMM clamps each edge separately, and so squashes the face once the 256×256 model
    input is resized from a non-square crop, we slide the square back inside the frame. The
    face is then off-centre but undistorted, which the model handles far better, and pasting
    the animated square back needs no aspect correction. The square only shrinks when the
    frame itself is smaller than it (side = the frame's short side then).

    Args:
        box: the face (or tube union) box.
        increase: relative margin on each side.
        frame_hw: ``(height, width)`` of the frame; None: no frame, the square is not moved.

    Returns:
        ``(x0, y0, x1, y1)`` ints, half-open, inside the frame, ``x1 - x0 == y1 - y0 >= 1``.
    """
    x1, y1, x2, y2 = _coords(box)
    w, h = x2 - x1, y2 - y1
    _check_box(w, h)
    side = max(1, round((1 + 2 * increase) * max(w, h)))
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    # floor(c - side/2 + 0.5) rounds the corner to the nearest pixel, halves up, on both signs.
    x0 = math.floor(cx - side / 2.0 + 0.5)
    y0 = math.floor(cy - side / 2.0 + 0.5)
    if frame_hw is not None:
        fh, fw = frame_hw
        if fh < 1 or fw < 1:
            raise ValueError(f"frame must be at least 1×1, got {fh}×{fw}")
        side = min(side, fh, fw)
        # Recentre if the frame forced a smaller square, then slide it inside the frame.
        x0 = min(max(0, math.floor(cx - side / 2.0 + 0.5)), fw - side)
        y0 = min(max(0, math.floor(cy - side / 2.0 + 0.5)), fh - side)
    return x0, y0, x0 + side, y0 + side


def is_tight_face_crop(
    image_hw: tuple[int, int],
    box: BoxLike,
    *,
    max_aspect: float = 1.1,
    min_coverage: float = 0.25,
    max_center_offset: float = 0.2,
) -> bool:
    """Heuristic: is this image already a square-ish crop around the face?

    Such images (e.g. FOMM's own 256×256 examples) must be used whole: cropping them again
    would cut off hair and chin the model expects to see.

    Args:
        image_hw: ``(height, width)`` of the image.
        box: the detected face.
        max_aspect: long side / short side of the image at most this (within ~10% of square).
        min_coverage: face box area / image area at least this.
        max_center_offset: face centre within this fraction of the image size from the image
            centre, on each axis.
    """
    ih, iw = image_hw
    if ih <= 0 or iw <= 0:
        return False
    if max(ih, iw) / min(ih, iw) > max_aspect:
        return False
    x1, y1, x2, y2 = _coords(box)
    # Only the part of the box inside the image counts as coverage.
    bw = max(0.0, min(x2, iw) - max(x1, 0.0))
    bh = max(0.0, min(y2, ih) - max(y1, 0.0))
    if bw * bh < min_coverage * ih * iw:
        return False
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return abs(cx - iw / 2.0) <= max_center_offset * iw and abs(cy - ih / 2.0) <= (
        max_center_offset * ih
    )
