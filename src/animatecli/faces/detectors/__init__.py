"""Face detector backends behind one interface, and the rule that picks one.

One module per backend:

* `face_alignment_fan` -- S3FD boxes + 2DFAN4 landmarks (``face-alignment``; weights fetched
  on request with ``animate models fetch face-alignment``). The most accurate; slow on CPU.
* `dlib_hog` -- dlib's HOG detector + its 68-point shape predictor. Offline, fast.
* `lbp_cascade` -- the LBP cascade shipped in scikit-image. Boxes only; the last resort.

``auto`` takes the first usable one in that order (`AUTO_ORDER`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from animatecli.errors import InputError
from animatecli.faces.detectors.dlib_hog import DlibBackend, dlib_missing_reason
from animatecli.faces.detectors.face_alignment_fan import (
    FaceAlignmentBackend,
    face_alignment_missing_reason,
)
from animatecli.faces.detectors.lbp_cascade import LbpCascadeBackend
from animatecli.faces.types import DetectorUnavailable, FaceDetector

DetectorKind = Literal["auto", "face-alignment", "dlib", "opencv", "lbp"]
DETECTOR_KINDS: tuple[str, ...] = ("auto", "face-alignment", "dlib", "opencv", "lbp")
AUTO_ORDER: tuple[str, ...] = ("face-alignment", "dlib", "lbp")
_LBP_NAMES = ("opencv", "lbp")

# Score from which a detection is trusted on its own, per backend (scores are not
# comparable across backends). LBP scores are merged-window counts: on astronaut composites
# true faces score median 13, false positives at most 6. S3FD probabilities are already cut at
# 0.5 by the package; dlib's SVM margins are already cut at 0 by its default threshold.
CONFIDENT_SCORE = {"lbp": 8.0, "face-alignment": 0.0, "dlib": 0.0}


def confident_score(detector_name: str) -> float:
    """The score from which a ``detector_name`` detection is trusted."""
    return CONFIDENT_SCORE.get(detector_name, 0.0)


@dataclass(frozen=True)
class BackendStatus:
    """Whether one backend can run here, and why not (for ``animate doctor``)."""

    name: str
    usable: bool
    landmarks: bool
    reason: str | None  # None when usable


def backend_statuses() -> list[BackendStatus]:
    """Every backend in `AUTO_ORDER`, checked on the file system only (nothing is loaded)."""
    reasons = {
        "face-alignment": face_alignment_missing_reason(),
        "dlib": dlib_missing_reason(),
        "lbp": None,  # ships with scikit-image (a dependency of face-alignment)
    }
    return [
        BackendStatus(name, reasons[name] is None, name != "lbp", reasons[name])
        for name in AUTO_ORDER
    ]


def make_detector(
    kind: DetectorKind | str = "auto",
    device: str = "cpu",
    notify: Callable[[str], None] | None = None,
    *,
    flip_input: bool = False,
    allow_download: bool = False,
    min_face: float | None = None,
) -> FaceDetector:
    """The detector the user asked for.

    Args:
        kind: ``"auto"`` (the first usable of `AUTO_ORDER`; one notice through ``notify`` when
            it has to fall back to the LBP cascade, which has no landmarks),
            ``"face-alignment"``, ``"dlib"``, or ``"opencv"`` / ``"lbp"`` (the same cascade).
        device: torch device for face-alignment.
        notify: receives one human-readable line when ``auto`` falls back to LBP.
        flip_input: see `FaceAlignmentBackend`.
        allow_download: let an explicit ``"face-alignment"`` download missing weights.
        min_face: smallest face wanted, px; sets dlib's detection scale.

    Raises:
        DetectorUnavailable: an explicitly named backend is not usable.
        InputError: unknown ``kind``.
    """
    if kind == "face-alignment":
        return FaceAlignmentBackend(device, flip_input=flip_input, allow_download=allow_download)
    if kind == "dlib":
        return DlibBackend(min_face=min_face)
    if kind in _LBP_NAMES:
        return LbpCascadeBackend()
    if kind != "auto":
        raise InputError(
            f"unknown face detector {kind!r} (choose from {', '.join(DETECTOR_KINDS)})"
        )
    reasons: list[str] = []
    fa = face_alignment_missing_reason()
    if fa is None:
        try:
            return FaceAlignmentBackend(device, flip_input=flip_input)
        except DetectorUnavailable as exc:
            fa = str(exc)
    reasons.append(fa)
    dl = dlib_missing_reason()
    if dl is None:
        # dlib is a full backend (boxes and landmarks): falling back to it is no loss worth
        # a notice on every run; `animate doctor` and --json say which backend ran.
        return DlibBackend(min_face=min_face)
    reasons.append(dl)
    if notify is not None:
        notify(f"{'; '.join(reasons)}; using the offline LBP detector")
    return LbpCascadeBackend()


__all__ = [
    "AUTO_ORDER",
    "DETECTOR_KINDS",
    "BackendStatus",
    "DetectorKind",
    "DlibBackend",
    "FaceAlignmentBackend",
    "LbpCascadeBackend",
    "backend_statuses",
    "confident_score",
    "make_detector",
]
