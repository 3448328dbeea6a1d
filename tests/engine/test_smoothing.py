"""The One-Euro keypoint filter on hand-made trajectories (the jittered real-face video
is in tests/training/test_jitter.py)."""

from __future__ import annotations

import pytest
import torch

from animatecli.engine import Keypoints, KeypointSmoother, OneEuroSettings

FPS = 25.0


def trajectory(frames: int, keypoints: int = 10, seed: int = 0) -> Keypoints:
    """A slow drift plus per-frame noise, with Jacobians (``frames×K×2``, ``frames×K×2×2``)."""
    generator = torch.Generator().manual_seed(seed)
    drift = torch.linspace(0, 0.1, frames)[:, None, None].expand(frames, keypoints, 2)
    value = drift + 0.02 * torch.randn(frames, keypoints, 2, generator=generator)
    jacobian = torch.eye(2) + 0.05 * torch.randn(frames, keypoints, 2, 2, generator=generator)
    return Keypoints(value, {"jacobian": jacobian})


def test_still_keypoints_pass_unchanged() -> None:
    still = Keypoints(
        torch.full((30, 10, 2), 0.25), {"jacobian": torch.eye(2).repeat(30, 10, 1, 1)}
    )
    smoothed = KeypointSmoother(OneEuroSettings(), FPS)(still)
    torch.testing.assert_close(smoothed.value, still.value, rtol=0, atol=0)
    torch.testing.assert_close(
        smoothed.extras["jacobian"], still.extras["jacobian"], rtol=0, atol=0
    )


def test_streaming_in_batches_equals_one_pass() -> None:
    kp = trajectory(40)
    whole = KeypointSmoother(OneEuroSettings(), FPS)(kp)
    streamed = KeypointSmoother(OneEuroSettings(), FPS)
    parts = [streamed(kp[i : i + 7]) for i in range(0, 40, 7)]
    torch.testing.assert_close(torch.cat([p.value for p in parts]), whole.value)
    torch.testing.assert_close(
        torch.cat([p.extras["jacobian"] for p in parts]), whole.extras["jacobian"]
    )


def test_noise_is_reduced_and_the_first_frame_kept() -> None:
    kp = trajectory(100)
    smoothed = KeypointSmoother(OneEuroSettings(), FPS)(kp)
    torch.testing.assert_close(smoothed[0].value, kp[0].value, rtol=0, atol=0)

    def step(v: torch.Tensor) -> float:
        return float(v.diff(dim=0).norm(dim=-1).mean())

    assert step(smoothed.value) < 0.5 * step(kp.value)
    jacobian, smoothed_jacobian = kp.extras["jacobian"], smoothed.extras["jacobian"]
    assert step(smoothed_jacobian.flatten(2)) < 0.5 * step(jacobian.flatten(2))
    assert smoothed.value.shape == kp.value.shape and smoothed.value.dtype == kp.value.dtype


def test_fast_motion_lags_under_a_frame() -> None:
    # A head turn crossing a third of the frame in half a second, no noise.
    frames = torch.arange(40, dtype=torch.float32)
    x = (frames.clamp(10, 22) - 10) / 12 * 0.66
    kp = Keypoints(torch.stack([x, torch.zeros_like(x)], -1)[:, None, :])
    smoothed = KeypointSmoother(OneEuroSettings(), FPS)(kp).value[:, 0, 0]
    # Delay at mid-turn: how many frames ago the raw signal was where the filter is now.
    for t in range(13, 21):
        delay = (x[t] - smoothed[t]) / (x[t] - x[t - 1])
        assert 0 <= delay <= 1.0, (t, float(delay))


def test_keypoints_without_extras() -> None:
    kp = Keypoints(trajectory(12).value)
    smoothed = KeypointSmoother(OneEuroSettings(), FPS)(kp)
    assert not smoothed.extras and smoothed.value.shape == kp.value.shape


def test_strength_scales_the_filter() -> None:
    auto, strong = OneEuroSettings(), OneEuroSettings.of_strength(2.0)
    assert strong.min_cutoff == auto.min_cutoff / 2 and strong.beta == auto.beta / 2
    assert OneEuroSettings.of_strength(1.0) == auto
    kp = trajectory(60)
    a = KeypointSmoother(auto, FPS)(kp).value.diff(dim=0).norm(dim=-1).mean()
    s = KeypointSmoother(strong, FPS)(kp).value.diff(dim=0).norm(dim=-1).mean()
    assert s < a
    with pytest.raises(ValueError):
        OneEuroSettings.of_strength(0.0)
    with pytest.raises(ValueError):
        KeypointSmoother(auto, 0.0)
