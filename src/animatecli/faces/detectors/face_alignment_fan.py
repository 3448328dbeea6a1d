"""The ``face-alignment`` backend: S3FD face boxes and 2DFAN4 68-point landmarks.

The detector the First Order Motion Model's own ``crop-video.py`` and ``--find_best_frame``
use. Its weights are downloaded by torch hub on first construction; we never let that happen
implicitly (see `face_alignment_weights_available`; ``animate models fetch face-alignment``
downloads them on request).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from animatecli.faces.types import DetectorUnavailable, FaceBox, Landmarks, check_image

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


def face_alignment_missing_reason() -> str | None:
    """A one-line reason why face-alignment cannot run offline, or None when it can."""
    if not face_alignment_installed():
        return "the face-alignment package is not installed"
    if not face_alignment_weights_available():
        return (
            f"face-alignment weights not found in {face_alignment_checkpoint_dir()} "
            "(animate models fetch face-alignment)"
        )
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
                "face-alignment is not installed; use --detector dlib instead"
            )
        if not allow_download and not face_alignment_weights_available():
            missing = [p.name for p in face_alignment_weight_paths() if not p.is_file()]
            raise DetectorUnavailable(
                f"face-alignment weights not found in {face_alignment_checkpoint_dir()} "
                f"(missing {', '.join(missing) or 'usable files'}); "
                "run `animate models fetch face-alignment` or use --detector dlib"
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
        check_image(image)
        small, f = self._downscale(image)
        raw = self._fa.face_detector.detect_from_image(small.copy())
        boxes = [
            FaceBox(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(b[4])).scaled(f)
            for b in raw
        ]
        return sorted(boxes, key=lambda b: -b.score)

    def landmarks_for(self, image: np.ndarray, box: FaceBox) -> Landmarks:
        """68×2 float64 landmarks (x, y pixels) of the face in ``box``."""
        check_image(image)
        detected = [np.array([*box.as_tuple(), box.score], dtype=np.float32)]
        points = self._fa.get_landmarks_from_image(image, detected_faces=detected)
        return np.asarray(points[0], dtype=np.float64)[:, :2]

    def landmarks(self, image: np.ndarray) -> list[Landmarks]:
        """68×2 float64 landmarks (x, y pixels of ``image``), one per face, best face first."""
        check_image(image)
        boxes = self.detect(image)
        if not boxes:
            return []
        detected = [np.array([*b.as_tuple(), b.score], dtype=np.float32) for b in boxes]
        points = self._fa.get_landmarks_from_image(image, detected_faces=detected)
        if points is None:
            return []
        return [np.asarray(p, dtype=np.float64)[:, :2] for p in points]
