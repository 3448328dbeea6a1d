"""Causal temporal smoothing of driving keypoints: the One-Euro filter (Casiez et al.,
CHI 2012), applied per keypoint.

Detected keypoints jitter from frame to frame even on a still head; the generator turns
that into a trembling face. A One-Euro filter is an exponential moving average whose
cut-off frequency rises with the signal's speed: strong smoothing while a keypoint is
still, almost none while it moves fast, so the motion does not lag. It is causal and its
state is one frame of keypoints (and of their speeds), whatever the video's length.

Both the points and every per-keypoint extra a family adds (FOMM's Jacobians) are
filtered; each keypoint's extras follow the cut-off chosen from its point's speed, so a
point and, say, its local affine transform are smoothed alike. Families without extras
(TPSMM) derive their transforms from the points, which covers them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .keypoints import Keypoints


@dataclass(frozen=True)
class OneEuroSettings:
    """The filter's parameters, in the units of normalised keypoints (the frame spans 2).

    ``min_cutoff`` (Hz): the cut-off on a still keypoint; lower smooths more.
    ``beta`` (per normalised unit): how fast the cut-off rises with the keypoint's speed
    (``cutoff = min_cutoff + beta · speed``, speed in units per second).
    ``speed_cutoff`` (Hz): the cut-off of the speed estimate itself.
    """

    # Chosen on the jittered astronaut video (training.jitter), four seeds: jitter × 0.36
    # to 0.41, lag 0.35 to 0.5 frame; beta 3 halves the jitter again but lags 0.55-0.8.
    min_cutoff: float = 0.5
    beta: float = 5.0
    speed_cutoff: float = 1.0

    @classmethod
    def of_strength(cls, strength: float) -> OneEuroSettings:
        """Settings for ``--smooth S``: S = 1 is ``auto``; 2 smooths twice as hard (half the
        still cut-off and half the speed response), 0.5 half as hard."""
        if not strength > 0:
            raise ValueError("the smoothing strength must be positive")
        default = cls()
        return cls(default.min_cutoff / strength, default.beta / strength, default.speed_cutoff)

    def to_dict(self) -> dict[str, float | str]:
        return {"filter": "one-euro", **asdict(self)}


def _smoothing_factor(cutoff: torch.Tensor | float, rate: float) -> torch.Tensor | float:
    """The exponential moving average's weight of the new sample for ``cutoff`` Hz at
    ``rate`` samples per second (an RC low-pass, discretised)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau * rate)


class KeypointSmoother:
    """One-Euro filter over a stream of keypoints, one frame after the other.

    ``rate``: frames per second of the stream (the filter's cut-offs are in Hz, so the
    same settings smooth a 25 and a 60 fps video alike). State: the last filtered frame
    and its keypoints' velocities.
    """

    def __init__(self, settings: OneEuroSettings, rate: float):
        if not rate > 0:
            raise ValueError("the frame rate must be positive")
        self.settings = settings
        self.rate = float(rate)
        self._speed_alpha = float(_smoothing_factor(settings.speed_cutoff, self.rate))
        self._last: Keypoints | None = None
        self._velocity: torch.Tensor | None = None  # 1×K×2, normalised units per second

    def __call__(self, keypoints: Keypoints) -> Keypoints:
        """Filter ``B`` consecutive frames (``value`` ``B×K×2``, each extra ``B×K×…``), in
        order; returns the smoothed keypoints, same shapes and dtype."""
        return Keypoints.cat(
            [self._step(keypoints[row]) for row in range(keypoints.value.shape[0])]
        )

    def _step(self, current: Keypoints) -> Keypoints:
        """One frame (batch of 1) through the filter."""
        frame = current.map(lambda tensor: tensor.float())
        last = self._last
        if last is None or self._velocity is None:
            self._last = frame
            self._velocity = torch.zeros_like(frame.value)
            return current
        # Velocity of each point, low-passed while signed (as in the One-Euro paper) so
        # jitter, which changes direction every frame, mostly cancels out of the speed.
        raw_velocity = (frame.value - last.value) * self.rate
        self._velocity = self._velocity + self._speed_alpha * (raw_velocity - self._velocity)
        speed = torch.linalg.vector_norm(self._velocity, dim=-1)  # 1×K
        cutoff = self.settings.min_cutoff + self.settings.beta * speed
        alpha = _smoothing_factor(cutoff, self.rate)  # 1×K
        assert isinstance(alpha, torch.Tensor)

        def follow(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
            weight = alpha.view(*alpha.shape, *[1] * (new.ndim - alpha.ndim))  # 1×K×1…
            return old + weight * (new - old)

        smoothed = Keypoints(
            follow(frame.value, last.value),
            {name: follow(t, last.extras[name]) for name, t in frame.extras.items()},
        )
        self._last = smoothed
        return smoothed.map(lambda tensor: tensor.to(current.value.dtype))
