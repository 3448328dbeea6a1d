"""How well keypoint smoothing works: a driving video with a known smooth trajectory plus
detection-like jitter, and the scores measured on it.

The video is a square window moving over a photo of a face: still, a fast pan, still, a
fast pan back, still. The *clean* version follows the trajectory exactly; the *jittered*
one adds, on every frame, the small random shift and zoom of a face detector's box from
one frame to the next. Scores, on the model's own keypoints and outputs:

- jitter: mean frame-to-frame keypoint displacement on still stretches (where the clean
  keypoints do not move, all of it is jitter), in pixels of the model's frame;
- lag: the time shift, in frames, that best aligns the keypoints with the clean ones on
  the fast pans (0 for an unfiltered signal; an exponential filter trails behind);
- flicker: mean absolute frame-to-frame pixel change of the animated output on still
  stretches, in [0, 1] units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from ..engine import Animator, Keypoints, MotionMode, MotionModel, frames_to_tensor
from ..engine.smoothing import KeypointSmoother, OneEuroSettings

# Segments in frames: (length, pan in units of the window side; 0 for a still stretch).
_SEGMENTS = ((30, 0.0), (12, 0.3), (30, 0.0), (12, -0.3), (30, 0.0))
# The astronaut's face in ``skimage.data.astronaut()`` (x0, y0, x1, y1), measured by eye.
ASTRONAUT_FACE = (178.0, 62.0, 266.0, 168.0)
# Still frames this soon after a pan are left out of the jitter: the motion is settling.
_SETTLE_FRAMES = 5


@dataclass(frozen=True)
class JitteredVideo:
    """``clean`` and ``jittered``: ``N×S×S×3`` uint8 frames; ``still``/``fast``: ``N`` bool
    masks of the frames the jitter and the lag are measured on; ``fps``: frame rate."""

    clean: np.ndarray
    jittered: np.ndarray
    still: np.ndarray
    fast: np.ndarray
    fps: float


def jittered_face_video(
    photo: np.ndarray,
    face_box: tuple[float, float, float, float],
    *,
    size: int = 128,
    fps: float = 25.0,
    shift_jitter: float = 0.015,
    zoom_jitter: float = 0.01,
    seed: int = 0,
) -> JitteredVideo:
    """The clean and jittered videos of ``photo`` (``H×W×3`` uint8) framed around
    ``face_box`` (x0, y0, x1, y1 in photo pixels) as a square twice the face's height.

    ``shift_jitter``/``zoom_jitter``: standard deviations of the per-frame box shift (a
    fraction of the window side) and of its relative size change.
    """
    x0, y0, x1, y1 = face_box
    side = 2.0 * (y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    offsets: list[float] = []
    still: list[bool] = []
    fast: list[bool] = []
    position = 0.0
    for length, pan in _SEGMENTS:
        for i in range(length):
            if pan:
                # Smoothstep easing: starts and stops at rest, fastest in the middle.
                t = (i + 1) / length
                offsets.append(position + pan * (3 * t * t - 2 * t * t * t))
                still.append(False)
                fast.append(0.2 < t <= 0.8)
            else:
                offsets.append(position)
                still.append(i >= _SETTLE_FRAMES)
                fast.append(False)
        position += pan
    rng = np.random.default_rng(seed)
    count = len(offsets)
    shake = rng.normal(0.0, shift_jitter, (count, 2)) * side
    zoom = 1.0 + rng.normal(0.0, zoom_jitter, count)

    def render(center_x: float, center_y: float, window: float) -> np.ndarray:
        scale = size / window
        matrix = np.array(
            [
                [scale, 0.0, size / 2 - scale * center_x],
                [0.0, scale, size / 2 - scale * center_y],
            ]
        )
        return cv2.warpAffine(
            photo, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
        )

    clean = [render(cx + o * side, cy, side) for o in offsets]
    jittered = [
        render(cx + o * side + dx, cy + dy, side * z)
        for o, (dx, dy), z in zip(offsets, shake, zoom, strict=True)
    ]
    return JitteredVideo(np.stack(clean), np.stack(jittered), np.array(still), np.array(fast), fps)


def keypoint_jitter(points: np.ndarray, mask: np.ndarray, size: int) -> float:
    """Mean frame-to-frame displacement of ``N×K×2`` normalised keypoints over the frames
    in ``mask`` (each against the one before), in pixels of a ``size``-pixel frame."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=-1).mean(axis=-1)
    return float(steps[mask[1:]].mean() * size / 2)


def lag_frames(points: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """The delay ``d`` (frames, 0.05 resolution) for which ``points[t]`` best matches
    ``reference[t - d]`` (linearly interpolated) over the frames in ``mask``."""
    frames = np.arange(len(points))
    flat = reference.reshape(len(reference), -1)
    best_delay, best_error = 0.0, np.inf
    for delay in np.arange(-2.0, 4.0001, 0.05):
        shifted = np.stack(
            [np.interp(frames - delay, frames, flat[:, j]) for j in range(flat.shape[1])], axis=1
        )
        error = np.abs(points.reshape(len(points), -1) - shifted)[mask].mean()
        if error < best_error:
            best_delay, best_error = float(delay), float(error)
    return best_delay


def pixel_flicker(frames: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of ``N×H×W×3`` uint8 frames over the frames in
    ``mask`` (each against the one before), in [0, 1] units."""
    diffs = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=(1, 2, 3)) / 255.0
    return float(diffs[mask[1:]].mean())


@dataclass(frozen=True)
class SmoothingScores:
    """Jitter (px) and lag (frames) of the keypoints, flicker of the output, one filter."""

    jitter_px: float
    lag_frames: float
    flicker: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _smoothed(points: Keypoints, settings: OneEuroSettings | None, fps: float) -> Keypoints:
    if settings is None:
        return points
    return KeypointSmoother(settings, fps)(points)


def score_smoothing(
    animator: Animator,
    video: JitteredVideo,
    settings: OneEuroSettings | None,
    *,
    source: np.ndarray | None = None,
    batch_size: int = 10,
) -> SmoothingScores:
    """Scores of smoothing with ``settings`` (None: off) on ``video``.

    The output animates ``source`` (default: the jittered video's first frame) by the
    jittered video in relative mode, aligned on its first frame.
    """
    size = animator.frame_shape[0]
    clean = animator.keypoints(frames_to_tensor(video.clean)).value.cpu().numpy()
    raw = animator.keypoints(frames_to_tensor(video.jittered))
    points = _smoothed(raw, settings, video.fps).value.cpu().numpy()
    session = animator.session(
        frames_to_tensor(video.jittered[0] if source is None else source),
        mode=MotionMode.RELATIVE,
        smoothing=settings,
        fps=video.fps,
    )
    outputs = []
    for batch in frames_to_tensor(video.jittered).split(batch_size):
        outputs.append((session.animate_batch(batch) * 255).round().clamp(0, 255))
    frames = torch.cat(outputs).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return SmoothingScores(
        jitter_px=keypoint_jitter(points, video.still, size),
        lag_frames=lag_frames(points, clean, video.fast),
        flicker=pixel_flicker(frames, video.still),
    )


def score_smoothing_on_astronaut(
    model: MotionModel, settings: OneEuroSettings | None, seed: int = 0
) -> SmoothingScores:
    """`score_smoothing` on scikit-image's astronaut (the video of ``animate eval``)."""
    from skimage import data

    animator = Animator(model.eval())
    video = jittered_face_video(
        data.astronaut(), ASTRONAUT_FACE, size=animator.frame_shape[0], seed=seed
    )
    return score_smoothing(animator, video, settings)
