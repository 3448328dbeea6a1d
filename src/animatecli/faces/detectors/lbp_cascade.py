"""The offline last resort: the LBP frontal-face cascade bundled with scikit-image (boxes only).

The CLI calls it ``opencv`` (the cascade is OpenCV's ``lbpcascade_frontalface.xml``), but the
opencv-python 5 wheels ship no cascade files, so the same cascade runs through
``skimage.feature.Cascade``; ``"lbp"`` is accepted as the honest alias.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from animatecli.faces.types import FaceBox, Landmarks, check_image


def _group_windows(rects: np.ndarray, eps: float) -> list[np.ndarray]:
    """Partition raw cascade windows into clusters, OpenCV ``groupRectangles`` style.

    Two windows (rows ``x, y, w, h``) are neighbours when every edge differs by at most
    ``eps * (min of widths + min of heights) / 2``; clusters are the connected components.
    Returns index arrays, one per cluster.
    """
    n = len(rects)
    x, y, w, h = (rects[:, i] for i in range(4))
    delta = eps * (np.minimum.outer(w, w) + np.minimum.outer(h, h)) * 0.5
    close = (
        (np.abs(x[:, None] - x[None, :]) <= delta)
        & (np.abs(y[:, None] - y[None, :]) <= delta)
        & (np.abs((x + w)[:, None] - (x + w)[None, :]) <= delta)
        & (np.abs((y + h)[:, None] - (y + h)[None, :]) <= delta)
    )
    labels = np.full(n, -1, dtype=np.int64)
    groups: list[np.ndarray] = []
    for seed in range(n):
        if labels[seed] >= 0:
            continue
        # Breadth-first flood fill: n is at most a few hundred windows.
        labels[seed] = len(groups)
        frontier = [seed]
        members = [seed]
        while frontier:
            nxt = np.flatnonzero(close[frontier].any(axis=0) & (labels < 0))
            labels[nxt] = len(groups)
            frontier = nxt.tolist()
            members.extend(frontier)
        groups.append(np.array(sorted(members), dtype=np.int64))
    return groups


def _suppress(boxes: list[FaceBox], iou_threshold: float, containment: float) -> list[FaceBox]:
    """Greedy NMS by score; also drops boxes mostly inside a better one (nested cascade hits)."""
    kept: list[FaceBox] = []
    for b in sorted(boxes, key=lambda b: -b.score):
        ok = True
        for k in kept:
            iw = min(b.x2, k.x2) - max(b.x1, k.x1)
            ih = min(b.y2, k.y2) - max(b.y1, k.y1)
            inter = max(0.0, iw) * max(0.0, ih)
            union = b.area + k.area - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
            if inter > containment * min(b.area, k.area):
                ok = False
                break
        if ok:
            kept.append(b)
    return kept


class LbpCascadeBackend:
    """Offline face boxes from the LBP frontal-face cascade bundled with scikit-image.

    Pipeline, tuned on astronaut composites (see the faces tests and the module report):

    1. grayscale copy downscaled to ``work_size`` px on its longest side;
    2. padded by ``pad_fraction`` of its short side with replicated edges, so faces cut by the
       frame border or filling a tight crop still fit a whole cascade window (without it, faces
       covering >80% of a crop or touching the border were missed);
    3. every positive window from ``min_face_fraction`` of the short side (never below the
       cascade's 24-px cell) up to the whole padded short side, taken unmerged: skimage's own
       grouping returns no counts;
    4. windows clustered OpenCV ``groupRectangles`` style; a cluster needs ``min_neighbours``
       windows and its score is that window count, because real faces fire at many neighbouring
       positions and scales and texture false positives at few;
    5. when no cluster reaches ``confident_score``, the search is repeated on copies rotated by
       ``retry_angles`` and all passes are pooled: the frontal cascade misses heads tilted by
       more than ~8°, common in talking-head videos, and retrying only then keeps the usual cost
       at one pass;
    6. greedy NMS by score (IoU ``nms_iou``, or 60% of the smaller box inside a better one).

    Args:
        work_size: longest side of the working copy, px. Cost grows with its square.
        min_face_fraction: smallest face searched, as a fraction of the image's short side.
        scale_factor: window growth per scale step (> 1). Smaller finds more, slower.
        step_ratio: window stride in units of the scaled base cell (1 = exhaustive).
        min_neighbours: windows a cluster needs to count as a face.
        group_eps: relative edge tolerance for two windows to join a cluster.
        nms_iou: clusters overlapping a better one by more than this IoU are dropped.
        pad_fraction: border added around the working copy, fraction of its short side.
        retry_angles: in-plane rotations (degrees) searched when the upright pass is unsure.
        confident_score: window count from which an upright hit is trusted without retrying.
            Measured: true faces median 13 windows (5th percentile 3), false positives <= 6.
    """

    name = "lbp"
    supports_landmarks = False

    def __init__(
        self,
        *,
        work_size: int = 320,
        min_face_fraction: float = 0.1,
        scale_factor: float = 1.15,
        step_ratio: float = 1.0,
        min_neighbours: int = 3,
        group_eps: float = 0.2,
        nms_iou: float = 0.3,
        pad_fraction: float = 0.1,
        retry_angles: Sequence[float] = (-15.0, 15.0),
        confident_score: float = 8.0,
    ) -> None:
        from skimage.data import lbp_frontal_face_cascade_filename
        from skimage.feature import Cascade

        if work_size < 48:
            raise ValueError("work_size must be at least 48 px")
        if scale_factor <= 1.0:
            raise ValueError("scale_factor must be > 1")
        self.work_size = work_size
        self.min_face_fraction = min_face_fraction
        self.scale_factor = scale_factor
        self.step_ratio = step_ratio
        self.min_neighbours = min_neighbours
        self.group_eps = group_eps
        self.nms_iou = nms_iou
        self.pad_fraction = pad_fraction
        self.retry_angles = tuple(float(a) for a in retry_angles)
        self.confident_score = confident_score
        self._cascade = Cascade(lbp_frontal_face_cascade_filename())

    def _raw_windows(self, gray: np.ndarray, min_side: int) -> np.ndarray:
        """All positive cascade windows, rows ``(x, y, w, h)`` in ``gray`` pixels, side >= min."""
        short = min(gray.shape)
        if min_side > short:
            return np.zeros((0, 4))
        found: Sequence[dict[str, int]] = self._cascade.detect_multi_scale(
            img=gray,
            scale_factor=self.scale_factor,
            step_ratio=self.step_ratio,
            min_size=(min_side, min_side),
            max_size=(short, short),
            min_neighbor_number=1,
            # The overlap ratio is at most 1, so a threshold above 1 disables skimage's merging
            # and hands us every raw window to count.
            intersection_score_threshold=1.5,
        )
        return np.array([[d["c"], d["r"], d["width"], d["height"]] for d in found], dtype=float)

    def _detect_gray(self, gray: np.ndarray, min_side: int) -> list[FaceBox]:
        """Clustered, suppressed faces in a grayscale working image, in its own pixels."""
        rects = self._raw_windows(gray, min_side)
        if len(rects) == 0:
            return []
        boxes = []
        for members in _group_windows(rects, self.group_eps):
            if len(members) < self.min_neighbours:
                continue
            x, y, bw, bh = rects[members].mean(axis=0)
            boxes.append(FaceBox(x, y, x + bw, y + bh, float(len(members))))
        return _suppress(boxes, self.nms_iou, containment=0.6)

    def _detect_rotated(self, gray: np.ndarray, min_side: int, angle: float) -> list[FaceBox]:
        """Faces found on ``gray`` rotated by ``angle`` degrees, mapped back to ``gray`` pixels.

        The box centre is rotated back exactly; width and height are kept, which for the small
        angles used is closer to the upright face box than the bounding box of the rotated one.
        """
        import cv2

        h, w = gray.shape
        rot = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
        # Replicated borders avoid hard black wedges that would look like edges to the cascade.
        turned = cv2.warpAffine(gray, rot, (w, h), borderMode=cv2.BORDER_REPLICATE)
        back = cv2.invertAffineTransform(rot)
        out = []
        for b in self._detect_gray(turned, min_side):
            cx, cy = back @ np.array([*b.center, 1.0])
            hw, hh = b.width / 2.0, b.height / 2.0
            out.append(FaceBox(cx - hw, cy - hh, cx + hw, cy + hh, b.score))
        return out

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces in an H×W×3 uint8 RGB image, best first; score = merged window count."""
        import cv2

        check_image(image)
        h, w = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        f = min(1.0, self.work_size / max(h, w))
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        gh, gw = gray.shape
        min_side = max(24, int(self.min_face_fraction * min(gh, gw)))
        pad = round(self.pad_fraction * min(gh, gw))
        if pad > 0:
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found = self._detect_gray(gray, min_side)
        if self.retry_angles and not any(b.score >= self.confident_score for b in found):
            # Pool all passes and let the window counts decide: a tilted face straightened by
            # the right rotation out-scores the texture hits every pass also produces.
            for angle in self.retry_angles:
                found += self._detect_rotated(gray, min_side, angle)
            found = _suppress(found, self.nms_iou, containment=0.6)
        # Back to the caller's pixels: remove the padding, then scale each axis by its own
        # ratio (the two were rounded separately). Clip: boxes may reach into the padding.
        sx, sy = w / gw, h / gh
        out = []
        for b in found:
            x1, y1 = max(0.0, (b.x1 - pad) * sx), max(0.0, (b.y1 - pad) * sy)
            x2, y2 = min(float(w), (b.x2 - pad) * sx), min(float(h), (b.y2 - pad) * sy)
            if x2 > x1 and y2 > y1:
                out.append(FaceBox(x1, y1, x2, y2, b.score))
        return out

    def landmarks(self, image: np.ndarray) -> list[Landmarks]:
        """Not available: a cascade gives boxes only. Check ``supports_landmarks`` first."""
        raise NotImplementedError("the offline LBP detector does not predict landmarks")

    def landmarks_for(self, image: np.ndarray, box: FaceBox) -> Landmarks:
        """Not available: a cascade gives boxes only. Check ``supports_landmarks`` first."""
        raise NotImplementedError("the offline LBP detector does not predict landmarks")
