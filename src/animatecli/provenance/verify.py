"""`verify(path)`: which of our marks a file carries, and what they say.

Exit codes for `animate verify` (one verdict per file; several files: the worst wins,
in the order 1 > 5 > 6 > 0; 2 comes from the CLI before any file is read):

| code | verdict | meaning |
|---|---|---|
| 0 | ``marked`` | AI-generated per valid credentials, a label or a detected watermark |
| 1 | ``error`` | the file could not be read |
| 2 | (usage) | bad arguments, missing file |
| 5 | ``not_marked`` | no credentials, no label, no watermark |
| 6 | ``tampered`` | credentials are present but do not validate (content or manifest changed) |
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from animatecli.errors import AnimateError, ExitCode
from animatecli.provenance.credentials import CredentialsReport, read_credentials
from animatecli.provenance.label import LabelReport, read_label
from animatecli.provenance.watermark import SCALES, WatermarkReport, detect_frames

TAMPERED_EXIT = ExitCode.TAMPERED
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

VERDICT_EXIT = {
    "marked": ExitCode.OK,
    "error": ExitCode.FAILURE,
    "not_marked": ExitCode.NOT_MARKED,
    "tampered": TAMPERED_EXIT,
}


@dataclass
class VerifyReport:
    """Everything `verify` found in one file."""

    path: str
    credentials: CredentialsReport
    label: LabelReport
    watermark: WatermarkReport | None
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        if self.credentials.state == "tampered":
            return "tampered"
        marked = (
            (self.credentials.state == "valid" and self.credentials.ai_generated)
            or self.label.ai_generated
            or (self.watermark is not None and self.watermark.detected)
        )
        return "marked" if marked else "not_marked"

    @property
    def exit_code(self) -> int:
        return VERDICT_EXIT[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "credentials": self.credentials.to_dict(),
            "label": self.label.to_dict(),
            "watermark": None if self.watermark is None else self.watermark.to_dict(),
            "error": self.error,
        }


# Called once per frame read by the watermark detector (for a progress display).
FrameSeen = Callable[[], None]


def _counted(frames: Iterable[Any], seen: FrameSeen | None) -> Iterator[Any]:
    for frame in frames:
        if seen is not None:
            seen()
        yield frame


def _watermark_of(
    path: Path, scales: tuple[float, ...], seen: FrameSeen | None = None
) -> WatermarkReport:
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        from animatecli.media.image import load_image

        return detect_frames([load_image(path)], 1, scales)
    from animatecli.media.video import VideoReader

    # Streamed: frames are folded as they arrive, never held.
    with VideoReader(path) as reader:
        fps: Fraction = reader.fps
        return detect_frames(_counted(reader, seen), fps, scales)


def verify(
    path: str | os.PathLike[str],
    *,
    scales: tuple[float, ...] = SCALES,
    frame_seen: FrameSeen | None = None,
) -> VerifyReport:
    """Check ``path`` for Content Credentials, the metadata label and the watermark.

    Never raises for a bad file: an unreadable one gives the verdict ``error``.
    ``frame_seen`` is called for each video frame the watermark detector reads.
    """
    p = Path(path)
    credentials = read_credentials(p)
    try:
        label = read_label(p)
    except OSError as exc:
        return VerifyReport(str(p), credentials, LabelReport(False), None, exc.strerror)
    try:
        watermark = _watermark_of(p, scales, frame_seen)
    except (AnimateError, OSError) as exc:
        return VerifyReport(str(p), credentials, label, None, str(exc).splitlines()[0])
    return VerifyReport(str(p), credentials, label, watermark)


def worst_exit(reports: list[VerifyReport]) -> int:
    """The exit code for several files: error, then not marked, then tampered, then marked."""
    order = [ExitCode.FAILURE, ExitCode.NOT_MARKED, TAMPERED_EXIT, ExitCode.OK]
    codes = {r.exit_code for r in reports}
    return next((c for c in order if c in codes), ExitCode.OK)
