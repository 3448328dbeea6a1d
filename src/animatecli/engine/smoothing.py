"""Causal temporal smoothing of driving keypoints: the One-Euro filter (Casiez et al.,
CHI 2012), applied per keypoint.

Detected keypoints jitter from frame to frame even on a still head; the generator turns
that into a trembling face. A One-Euro filter is an exponential moving average whose
cut-off frequency rises with the signal's speed: strong smoothing while a keypoint is
still, almost none while it moves fast, so the motion does not lag. It is causal and its
state is one frame of keypoints (and of their speeds), whatever the video's length.

Both the points and, for families that estimate them, the Jacobians are filtered; each
keypoint's Jacobian follows the cut-off chosen from its point's speed, so a point and its
local affine transform are smoothed alike. Families without Jacobians (TPSMM) derive
their transforms from the points, which covers them.
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
        """Filter ``B`` consecutive frames (``value`` ``B×K×2``, ``jacobian`` ``B×K×2×2``
        or None), in order; returns the smoothed keypoints, same shapes and dtype."""
        rows = [self._step(keypoints[row]) for row in range(keypoints.value.shape[0])]
        value = torch.cat([r.value for r in rows])
        jacobian = None
        if keypoints.jacobian is not None:
            jacobian = torch.cat([r.jacobian for r in rows])  # type: ignore[misc]
        return Keypoints(value, jacobian)

    def _step(self, current: Keypoints) -> Keypoints:
        """One frame (batch of 1) through the filter."""
        value = current.value.float()
        jacobian = None if current.jacobian is None else current.jacobian.float()
        last = self._last
        if last is None or self._velocity is None:
            self._last = Keypoints(value, jacobian)
            self._velocity = torch.zeros_like(value)
            return current
        # Velocity of each point, low-passed while signed (as in the One-Euro paper) so
        # jitter, which changes direction every frame, mostly cancels out of the speed.
        raw_velocity = (value - last.value) * self.rate
        self._velocity = self._velocity + self._speed_alpha * (raw_velocity - self._velocity)
        speed = torch.linalg.vector_norm(self._velocity, dim=-1)  # 1×K
        cutoff = self.settings.min_cutoff + self.settings.beta * speed
        alpha = _smoothing_factor(cutoff, self.rate)  # 1×K
        assert isinstance(alpha, torch.Tensor)
        value = last.value + alpha[..., None] * (value - last.value)
        if jacobian is not None and last.jacobian is not None:
            jacobian = last.jacobian + alpha[..., None, None] * (jacobian - last.jacobian)
        self._last = Keypoints(value, jacobian)
        return Keypoints(
            value.to(current.value.dtype),
            None if jacobian is None else jacobian.to(current.value.dtype),
        )
