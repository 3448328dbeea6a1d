"""Square crops over time: a fixed one (FOMM's), or one that follows the face, smoothed.

A `CropPath` gives one square per frame of a tube. The following path interpolates the face
centre linearly between examined frames, then smooths it with two passes of a centred moving
average about ``smooth_seconds`` long (a triangular kernel): detection noise of a few pixels
on a still face moves the crop by a small fraction of a pixel per frame, while a steady pan
is followed with a lag-free, straight path. The side is fixed per tube (the median face size
plus the margin) so the face does not pulse in size. The ends are padded by odd reflection,
so the path neither lags nor leads at the first and last frames of a pan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from animatecli.faces.boxes import IntBox, square_crop_box
from animatecli.faces.tracking import fomm_segments
from animatecli.faces.types import FaceTube

TRACK_MODES = ("auto", "static", "follow")
# ``auto`` follows a face whose tube's union box grows past this multiple of the face size:
# beyond it a fixed crop would show the face at under ~2/3 of the clip.
STATIC_SPREAD = 1.5


@dataclass(frozen=True)
class CropPath:
    """A square crop for each frame ``start_frame .. start_frame + len(centers) - 1``.

    Attributes:
        start_frame: first frame covered.
        centers: N×2 float64 crop centres ``(x, y)``, px, each keeping the square inside the
            frame.
        side: side of the square, px (integer, so every frame's crop has one size).
        follows: True when the crop moves with the face, False for one fixed square.
    """

    start_frame: int
    centers: np.ndarray
    side: int
    follows: bool

    @property
    def end_frame(self) -> int:
        """Last frame covered (inclusive)."""
        return self.start_frame + len(self.centers) - 1

    def center_at(self, frame: int) -> tuple[float, float]:
        """Centre for ``frame``; frames outside the path hold its first or last centre."""
        i = min(max(frame - self.start_frame, 0), len(self.centers) - 1)
        return float(self.centers[i, 0]), float(self.centers[i, 1])

    def box_at(self, frame: int) -> IntBox:
        """Integer half-open ``(x0, y0, x1, y1)`` square for ``frame``."""
        cx, cy = self.center_at(frame)
        x0 = math.floor(cx - self.side / 2.0 + 0.5)
        y0 = math.floor(cy - self.side / 2.0 + 0.5)
        return x0, y0, x0 + self.side, y0 + self.side

    def max_step(self) -> float:
        """Largest frame-to-frame movement of the centre on either axis, px (0 when fixed).

        On a still face this is the crop's jitter.
        """
        if len(self.centers) < 2:
            return 0.0
        return float(np.abs(np.diff(self.centers, axis=0)).max())


def fixed_path(
    tube: FaceTube, increase: float, frame_hw: tuple[int, int], start: int, end: int
) -> CropPath:
    """One square around ``tube``'s union box for frames ``start..end`` (FOMM's crop)."""
    x0, y0, x1, y1 = square_crop_box(tube.union_box, increase, frame_hw)
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    return CropPath(start, np.tile(centre, (end - start + 1, 1)), x1 - x0, follows=False)


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of N×K ``values`` along axis 0 (``window`` odd).

    The ends are padded by odd reflection (``2·v[0] - v[k]``), which continues a linear trend:
    a steady pan is reproduced exactly up to the first and last frame instead of being pulled
    towards the middle, as holding the end values would.
    """
    if window <= 1 or len(values) < 2:
        return values
    half = window // 2
    padded = np.pad(values, ((half, half), (0, 0)), mode="reflect", reflect_type="odd")
    sums = np.cumsum(np.concatenate([np.zeros((1, values.shape[1])), padded]), axis=0)
    return (sums[window:] - sums[:-window]) / window


def following_path(
    tube: FaceTube,
    increase: float,
    frame_hw: tuple[int, int],
    fps: float,
    smooth_seconds: float = 1.0,
) -> CropPath:
    """A square that follows ``tube``'s face over frames ``start_frame..end_frame``.

    Args:
        tube: the face's tube (detections on examined frames).
        increase: margin around the face on each side, as a fraction of its size.
        frame_hw: ``(height, width)`` of the frame; the square is kept inside it.
        fps: frame rate, to turn ``smooth_seconds`` into frames.
        smooth_seconds: length of each moving-average pass.
    """
    fh, fw = frame_hw
    side = int(min(round((1 + 2 * increase) * tube.median_side), fh, fw))
    frames = sorted(tube.boxes)
    known = np.array([tube.boxes[i].center for i in frames])
    every_frame = np.arange(tube.start_frame, tube.end_frame + 1)
    centers = np.stack(
        [np.interp(every_frame, frames, known[:, 0]), np.interp(every_frame, frames, known[:, 1])],
        axis=1,
    )
    window = max(1, round(smooth_seconds * fps)) | 1
    centers = _moving_average(_moving_average(centers, window), window)
    half = side / 2.0
    centers[:, 0] = np.clip(centers[:, 0], half, fw - half)
    centers[:, 1] = np.clip(centers[:, 1], half, fh - half)
    return CropPath(tube.start_frame, centers, side, follows=True)


def crop_paths(
    tube: FaceTube,
    track: str,
    increase: float,
    frame_hw: tuple[int, int],
    fps: float,
    smooth_seconds: float = 1.0,
) -> list[tuple[FaceTube, CropPath]]:
    """The crops of one face's tube, each with the part of the tube it covers.

    ``track``: ``"static"`` cuts the tube into FOMM's fixed-crop segments (`fomm_segments`),
    ``"follow"`` gives one `following_path`, ``"auto"`` keeps one fixed crop for the whole
    tube while the face wanders less than half its size (`STATIC_SPREAD`) and follows it
    otherwise: a fixed crop keeps the head's own motion in the clip, as FOMM expects, and is
    only given up when it would show the face too small.
    """
    if track not in TRACK_MODES:
        raise ValueError(f"track must be one of {', '.join(TRACK_MODES)}, got {track!r}")
    follow = track == "follow" or (
        track == "auto" and tube.union_box.side > STATIC_SPREAD * tube.median_side
    )
    if follow:
        return [(tube, following_path(tube, increase, frame_hw, fps, smooth_seconds))]
    if track == "auto":
        return [(tube, fixed_path(tube, increase, frame_hw, tube.start_frame, tube.end_frame))]
    return [
        (part, fixed_path(part, increase, frame_hw, part.start_frame, part.end_frame))
        for part in fomm_segments(tube)
    ]
