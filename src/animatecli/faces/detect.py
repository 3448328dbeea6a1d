"""Face detectors behind one small interface.

Two backends:

* `FaceAlignmentBackend` wraps the ``face-alignment`` package (S3FD detector + 2DFAN4 landmarks),
  the detector the First Order Motion Model's own ``crop-video.py`` and ``--find_best_frame`` use.
  Its weights are downloaded by torch hub on first construction; we never let that happen
  implicitly (see `face_alignment_weights_available`).
* `LbpCascadeBackend` is the offline fallback: the LBP frontal-face cascade that ships inside
  scikit-image. The CLI calls it ``opencv`` (the issue's name, because the cascade is OpenCV's
  ``lbpcascade_frontalface.xml``), but the opencv-python 5 wheels ship no cascade files, so we run
  the same cascade through ``skimage.feature.Cascade``; ``"lbp"`` is accepted as the honest alias.

Images are always H×W×3 ``uint8`` RGB; boxes are float pixel coordinates ``(x1, y1, x2, y2)``
in that image. Heavy imports (torch via face-alignment, scikit-image, OpenCV) happen inside the
backends so that importing this module stays cheap.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from animatecli.errors import AnimateError, InputError

DetectorKind = Literal["auto", "face-alignment", "opencv", "lbp"]

# The exact files face-alignment 1.5 fetches on first use, read from its source:
# ``face_alignment/detection/sfd/sfd_detector.py`` (torch.hub.load_state_dict_from_url) and
# ``face_alignment/api.py`` (``load_file_from_url``, 2-D landmarks, NetworkSize.LARGE). Both save
# to ``<torch.hub.get_dir()>/checkpoints/<basename of the URL>``.
FACE_ALIGNMENT_WEIGHT_URLS: dict[str, str] = {
    "s3fd": "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
    "2DFAN-4": "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar",
}

# FOMM's crop-video.py runs S3FD on frames no larger than 640 px on the longest side: faster, and
# the detector is trained for faces of that scale anyway.
_FA_DETECT_MAX_SIDE = 640


class DetectorUnavailable(AnimateError):
    """The requested face detector cannot be constructed (weights missing, no network...)."""


@dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face box in float pixel coordinates, ``x2 > x1`` and ``y2 > y1``.

    ``score`` is backend specific: a probability in [0, 1] for S3FD, the number of merged
    cascade windows for the LBP backend. Only compare scores from the same backend.
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

    def landmarks(self, image: np.ndarray) -> list[np.ndarray]:
        """68×2 float landmark arrays (x, y pixels), one per face, best face first.

        Only backends with ``supports_landmarks`` implement it; others raise NotImplementedError.
        """
        ...


def _check_image(image: np.ndarray) -> None:
    """Reject anything but an H×W×3 uint8 array: a wrong layout would silently find nothing."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an H×W×3 RGB image, got shape {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")


# --------------------------------------------------------------------------------------------
# face-alignment
# --------------------------------------------------------------------------------------------


def torch_hub_dir() -> Path:
    """The torch hub directory, computed the way ``torch.hub.get_dir()`` does.

    If torch is already imported we ask it (that honours ``torch.hub.set_dir``); otherwise nobody
    can have called ``set_dir`` in this process, so the environment rule is exact and we avoid a
    multi-second torch import just to look for two files: ``$TORCH_HOME/hub``, with
    ``$TORCH_HOME`` defaulting to ``$XDG_CACHE_HOME/torch`` and that to ``~/.cache/torch``.
    """
    import sys

    torch = sys.modules.get("torch")
    hub = getattr(torch, "hub", None) if torch is not None else None
    if hub is not None:
        return Path(hub.get_dir())
    xdg = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(xdg, "torch")))
    return Path(torch_home) / "hub"


def face_alignment_checkpoint_dir() -> Path:
    """Where face-alignment keeps (or would download) its weights: ``<hub dir>/checkpoints``."""
    return torch_hub_dir() / "checkpoints"


def face_alignment_weight_paths() -> list[Path]:
    """The cache files face-alignment needs for 2-D landmarks with the S3FD detector."""
    folder = face_alignment_checkpoint_dir()
    return [folder / url.rsplit("/", 1)[-1] for url in FACE_ALIGNMENT_WEIGHT_URLS.values()]


def face_alignment_installed() -> bool:
    """Whether the ``face_alignment`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("face_alignment") is not None


def face_alignment_weights_available() -> bool:
    """True when face-alignment is installed and all its weight files are cached.

    Only looks at the file system: never imports torch, never touches the network. A non-empty
    file is required because a zero-byte file would only fail later inside ``torch.load``.
    (torch hub downloads to a temporary name and renames, so a partial download never has the
    final name.)
    """
    if not face_alignment_installed():
        return False
    for path in face_alignment_weight_paths():
        try:
            if not path.is_file() or path.stat().st_size == 0:
                return False
        except OSError:
            return False
    return True


def _face_alignment_missing_reason() -> str | None:
    """A one-line reason why face-alignment cannot run offline, or None when it can."""
    if not face_alignment_installed():
        return "the face-alignment package is not installed"
    if not face_alignment_weights_available():
        return f"face-alignment weights not found in {face_alignment_checkpoint_dir()}"
    return None


class FaceAlignmentBackend:
    """S3FD boxes and 2DFAN4 68-point landmarks from the ``face-alignment`` package.

    Args:
        device: torch device string ("cpu", "cuda", "cuda:1").
        flip_input: also run the landmark network on the mirrored crop and average (more stable
            landmarks, twice the landmark cost). FOMM uses False for cropping and True for
            ``--find_best_frame``; boxes are unaffected.
        allow_download: when the weights are not cached, let face-alignment download them
            (two files, see `face_alignment_weight_paths`). Off by default so that nothing ever
            blocks on the network implicitly.

    Raises:
        DetectorUnavailable: weights missing (and downloads not allowed), the package missing,
            or construction failed (e.g. download attempted without network).
    """

    name = "face-alignment"
    supports_landmarks = True

    def __init__(
        self, device: str = "cpu", flip_input: bool = False, allow_download: bool = False
    ) -> None:
        if not face_alignment_installed():
            raise DetectorUnavailable(
                "face-alignment is not installed; use the offline detector (opencv) instead"
            )
        if not allow_download and not face_alignment_weights_available():
            missing = [p.name for p in face_alignment_weight_paths() if not p.is_file()]
            raise DetectorUnavailable(
                f"face-alignment weights not found in {face_alignment_checkpoint_dir()} "
                f"(missing {', '.join(missing) or 'usable files'}); "
                "use the offline detector (opencv) instead"
            )
        self.device = device
        self.flip_input = flip_input
        self._fa = self._construct(device, flip_input)

    @staticmethod
    def _construct(device: str, flip_input: bool) -> Any:
        """Build ``face_alignment.FaceAlignment``, turning any failure into DetectorUnavailable."""
        try:
            import inspect

            import face_alignment

            lm = face_alignment.LandmarksType
            # face-alignment < 1.4 spelled it ``_2D``.
            two_d = getattr(lm, "TWO_D", None) or lm._2D
            kwargs: dict[str, Any] = {"flip_input": flip_input, "device": device}
            # 1.5 compiles the network with torch.compile by default: a long one-time warm-up
            # that needs a C compiler on CPU; eager mode is plenty for a few frames.
            if "compile" in inspect.signature(face_alignment.FaceAlignment.__init__).parameters:
                kwargs["compile"] = False
            return face_alignment.FaceAlignment(two_d, **kwargs)
        except Exception as exc:  # network errors, bad cache files, CUDA errors: all one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
            raise DetectorUnavailable(f"cannot start face-alignment ({detail})") from exc

    def _downscale(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """A copy no larger than 640 px on its longest side, and the factor back to full size."""
        h, w = image.shape[:2]
        longest = max(h, w)
        if longest <= _FA_DETECT_MAX_SIDE:
            return image, 1.0
        import cv2

        f = longest / _FA_DETECT_MAX_SIDE
        size = (max(1, round(w / f)), max(1, round(h / f)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), f

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """S3FD faces in an H×W×3 uint8 RGB image, best score first; scores in [0, 1].

        The installed face-alignment (1.5) flips RGB to BGR itself inside S3FD's
        ``batch_detect``, so RGB goes in unchanged. (FOMM's crop-video.py reverses the channels
        because the older face-alignment it was written against expected BGR.)
        """
        _check_image(image)
        small, f = self._downscale(image)
        raw = self._fa.face_detector.detect_from_image(small.copy())
        boxes = [
            FaceBox(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(b[4])).scaled(f)
            for b in raw
        ]
        return sorted(boxes, key=lambda b: -b.score)

    def landmarks(self, image: np.ndarray) -> list[np.ndarray]:
        """68×2 float64 landmarks (x, y pixels of ``image``), one per face, best face first."""
        _check_image(image)
        boxes = self.detect(image)
        if not boxes:
            return []
        detected = [np.array([*b.as_tuple(), b.score], dtype=np.float32) for b in boxes]
        points = self._fa.get_landmarks_from_image(image, detected_faces=detected)
        if points is None:
            return []
        return [np.asarray(p, dtype=np.float64)[:, :2] for p in points]


# --------------------------------------------------------------------------------------------
# LBP cascade (offline)
# --------------------------------------------------------------------------------------------


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

        _check_image(image)
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

    def landmarks(self, image: np.ndarray) -> list[np.ndarray]:
        """Not available: a cascade gives boxes only. Check ``supports_landmarks`` first."""
        raise NotImplementedError("the offline LBP detector does not predict landmarks")


# --------------------------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------------------------

_OFFLINE_NAMES = ("opencv", "lbp")


# Score from which a detection is trusted on its own, per backend (scores are not
# comparable across backends). LBP scores are merged-window counts: on astronaut composites
# true faces score median 13, false positives at most 6. S3FD (face-alignment) scores are
# probabilities the package already cuts at 0.5.
CONFIDENT_SCORE = {"lbp": 8.0, "face-alignment": 0.0}


def confident_score(detector_name: str) -> float:
    """The score from which a ``detector_name`` detection is trusted."""
    return CONFIDENT_SCORE.get(detector_name, 0.0)


def make_detector(
    kind: DetectorKind = "auto",
    device: str = "cpu",
    notify: Callable[[str], None] | None = None,
    *,
    flip_input: bool = False,
    allow_download: bool = False,
) -> FaceDetector:
    """The detector the user asked for.

    Args:
        kind: ``"auto"`` (face-alignment when its weights are cached, else the offline backend
            with one notice through ``notify``), ``"face-alignment"``, or ``"opencv"`` / ``"lbp"``
            (the same offline LBP cascade: opencv-python 5 wheels ship no cascade files, so the
            issue's ``opencv`` option runs OpenCV's LBP cascade through scikit-image).
        device: torch device for face-alignment.
        notify: receives one human-readable line when ``auto`` falls back.
        flip_input: see `FaceAlignmentBackend`.
        allow_download: let an explicit ``"face-alignment"`` download missing weights.

    Raises:
        DetectorUnavailable: ``"face-alignment"`` asked for but not usable.
        InputError: unknown ``kind``.
    """
    if kind == "face-alignment":
        return FaceAlignmentBackend(device, flip_input=flip_input, allow_download=allow_download)
    if kind in _OFFLINE_NAMES:
        return LbpCascadeBackend()
    if kind != "auto":
        names = ", ".join(["auto", "face-alignment", *_OFFLINE_NAMES])
        raise InputError(f"unknown face detector {kind!r} (choose from {names})")
    reason = _face_alignment_missing_reason()
    if reason is None:
        try:
            return FaceAlignmentBackend(device, flip_input=flip_input)
        except DetectorUnavailable as exc:
            reason = str(exc)
    if notify is not None:
        notify(f"{reason}; using the offline LBP detector")
    return LbpCascadeBackend()
