"""Tests for the procedural talking-head generator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from animatecli.training import synthetic as syn


def _frames(seed: int, n: int, size: int = 64) -> list[np.ndarray]:
    return list(syn.make_video(seed, n, size=size))


def test_same_seed_gives_identical_bytes() -> None:
    a = _frames(11, 6)
    b = _frames(11, 6)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b, strict=True))
    assert _frames(12, 1)[0].tobytes() != a[0].tobytes()


def test_training_pairs_are_deterministic() -> None:
    p = syn.sample_training_pair(np.random.default_rng(5), size=64)
    q = syn.sample_training_pair(np.random.default_rng(5), size=64)
    assert p[0].tobytes() == q[0].tobytes()
    assert p[1].tobytes() == q[1].tobytes()


def test_longer_video_starts_with_the_shorter_one() -> None:
    assert syn.video_poses(3, 40)[:10] == syn.video_poses(3, 10)


def test_splits_are_disjoint() -> None:
    assert syn.TRAIN_SEEDS.stop <= syn.HELDOUT_SEEDS.start
    assert len(syn.TRAIN_SEEDS) > 0
    assert len(syn.HELDOUT_SEEDS) > 0
    seeds = [seed for seed, _ in syn.heldout_videos(3, 1, size=32)]
    assert seeds == list(syn.HELDOUT_SEEDS[:3])


def test_training_pairs_use_train_seeds_only(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[int] = []
    real = syn.style_for_seed

    def spy(seed: int) -> syn.HeadStyle:
        used.append(seed)
        return real(seed)

    monkeypatch.setattr(syn.videos, "style_for_seed", spy)
    rng = np.random.default_rng(0)
    for _ in range(5):
        syn.sample_training_pair(rng, size=32)
    assert len(used) == 5
    assert all(s in syn.TRAIN_SEEDS and s not in syn.HELDOUT_SEEDS for s in used)


@pytest.mark.parametrize("size", [256, 128, 64])
def test_frame_shape_and_dtype(size: int) -> None:
    style = syn.style_for_seed(1)
    frame = syn.render_frame(style, syn.HeadPose(), size)
    assert frame.shape == (size, size, 3)
    assert frame.dtype == np.uint8
    src, drv = syn.sample_training_pair(np.random.default_rng(1), size)
    assert src.shape == drv.shape == (size, size, 3)
    assert src.dtype == drv.dtype == np.uint8


def test_every_hair_style_renders() -> None:
    base = syn.style_for_seed(2)
    for i in range(len(syn.HAIR_STYLES)):
        style = dataclasses.replace(base, hair_style=i)
        frame = syn.render_frame(style, syn.HeadPose(yaw=1.0, mouth_open=1.0), 64)
        assert frame.std() > 10


def test_motion_is_smooth() -> None:
    frames = [f.astype(np.float32) for f in _frames(7, 60, size=96)]
    near = np.mean([np.abs(frames[i + 1] - frames[i]).mean() for i in range(59)])
    far = np.mean([np.abs(frames[i + 30] - frames[i]).mean() for i in range(30)])
    assert near > 0.0
    assert near < 0.5 * far


def test_poses_stay_bounded() -> None:
    for seed in range(6):
        params = syn.motion_for_seed(seed, 60.0)
        poses = syn.poses_at(params, np.linspace(0.0, 60.0, 600))
        rot = np.array([p.rotation for p in poses])
        scale = np.array([p.scale for p in poses])
        tx = np.array([p.tx for p in poses])
        ty = np.array([p.ty for p in poses])
        assert np.abs(rot).max() <= 15.0
        assert scale.min() >= 0.85 and scale.max() <= 1.15
        assert np.abs(tx).max() <= 0.1 and np.abs(ty).max() <= 0.1
        for p in poses:
            assert 0.0 <= p.eye_open <= 1.0 and 0.0 <= p.mouth_open <= 1.0


def test_eyes_blink() -> None:
    eye = np.array([p.eye_open for p in syn.video_poses(4, 250)])
    assert eye.min() < 0.05  # fully closed at some frame within 10 s
    assert np.median(eye) > 0.8  # but open most of the time
    closed = eye < 0.3
    assert 0 < closed.mean() < 0.15


def test_blink_is_visible() -> None:
    style = syn.style_for_seed(4)
    open_ = syn.render_frame(style, syn.HeadPose(eye_open=1.0), 128).astype(np.int16)
    shut = syn.render_frame(style, syn.HeadPose(eye_open=0.0), 128).astype(np.int16)
    assert np.abs(open_ - shut).sum(axis=2).astype(bool).sum() > 50


def test_mouth_moves() -> None:
    mouth = np.array([p.mouth_open for p in syn.video_poses(9, 250)])
    assert mouth.max() > 0.5
    assert (mouth < 0.05).mean() > 0.1  # pauses between phrases


def test_audio_length_and_envelope() -> None:
    fps, sr, n = 25.0, 16000, 100
    audio = syn.make_speech_audio(6, n, fps, sr)
    assert audio.dtype == np.int16
    assert audio.shape == (round(n / fps * sr),)
    assert np.array_equal(audio, syn.make_speech_audio(6, n, fps, sr))
    hop = round(sr / fps)
    rms = np.sqrt(np.mean(audio[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    mouth = np.array([p.mouth_open for p in syn.video_poses(6, n, fps)])
    assert np.corrcoef(rms, mouth)[0, 1] > 0.5
    assert syn.make_speech_audio(6, 25, 25.0).shape == (44100,)
