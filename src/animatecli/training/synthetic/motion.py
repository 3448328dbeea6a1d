"""Head motion as a closed-form function of time: sinusoids plus syllable and blink events."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .style import HeadPose

DEFAULT_FPS = 25.0


# name, centre, offset spread, total sinusoid amplitude, frequency range (Hz)
_CHANNELS: tuple[tuple[str, float, float, float, tuple[float, float]], ...] = (
    ("tx", 0.0, 0.03, 0.05, (0.03, 0.35)),
    ("ty", 0.0, 0.02, 0.035, (0.03, 0.35)),
    ("rotation", 0.0, 4.0, 10.0, (0.05, 0.4)),
    ("scale", 1.0, 0.05, 0.09, (0.02, 0.2)),
    ("yaw", 0.0, 0.2, 0.7, (0.05, 0.4)),
    ("brow_raise", 0.0, 0.2, 0.6, (0.1, 0.6)),
    ("gaze_x", 0.0, 0.2, 0.7, (0.1, 0.7)),
    ("gaze_y", 0.0, 0.1, 0.5, (0.1, 0.6)),
    ("jitter_x", 0.0, 0.0, 0.004, (0.4, 1.5)),
    ("jitter_y", 0.0, 0.0, 0.004, (0.4, 1.5)),
    ("eye_base", 0.93, 0.03, 0.05, (0.05, 0.3)),
    ("mouth_width", 1.0, 0.03, 0.06, (0.1, 0.5)),
)
_N_SIN = 3
_CH = {c[0]: i for i, c in enumerate(_CHANNELS)}
_MAX_SYLLABLE = 0.32  # seconds
_MAX_BLINK = 0.24


@dataclass(frozen=True, eq=False)
class MotionParams:
    """Closed-form description of one motion (evaluate with :func:`pose_at`).

    Head pose channels are sums of sinusoids; blinks and speech syllables are event
    lists. Events are generated sequentially, so a longer ``duration`` only appends events.
    """

    duration: float
    offsets: np.ndarray  # (C,)
    amps: np.ndarray  # (C, K)
    freqs: np.ndarray  # (C, K) in Hz
    phases: np.ndarray  # (C, K)
    blink_times: np.ndarray
    blink_durations: np.ndarray
    syllable_onsets: np.ndarray
    syllable_durations: np.ndarray
    syllable_amps: np.ndarray
    syllable_widths: np.ndarray


def sample_motion_params(rng: np.random.Generator, duration: float) -> MotionParams:
    """Draw a random motion covering ``[0, duration]`` seconds (closed form in time)."""
    seeds = rng.integers(0, 2**63 - 1, size=3)
    r_sin, r_blink, r_speech = (np.random.default_rng(int(x)) for x in seeds)

    c, k = len(_CHANNELS), _N_SIN
    offsets = np.empty(c)
    amps = np.empty((c, k))
    freqs = np.empty((c, k))
    phases = r_sin.uniform(0, 2 * math.pi, (c, k))
    energy = r_sin.uniform(0.3, 1.0)  # overall liveliness of this person
    for i, (_, centre, spread, amp, (f0, f1)) in enumerate(_CHANNELS):
        offsets[i] = centre + r_sin.uniform(-spread, spread)
        w = r_sin.dirichlet(np.ones(k))
        amps[i] = amp * w * energy * r_sin.uniform(0.6, 1.0)
        freqs[i] = np.exp(r_sin.uniform(math.log(f0), math.log(f1), k))

    bt: list[float] = []
    bd: list[float] = []
    t = float(r_blink.uniform(0.3, 2.5))
    while t < duration:
        bt.append(t)
        bd.append(float(r_blink.uniform(0.16, _MAX_BLINK)))
        t += 0.4 if r_blink.random() < 0.1 else float(r_blink.uniform(2.0, 5.0))

    phrases: list[np.ndarray] = []
    t = float(r_speech.uniform(0.0, 0.8))
    while t < duration:  # one phrase of syllables, then a pause
        k = int(r_speech.integers(2, 12))
        d = r_speech.uniform(0.14, _MAX_SYLLABLE, k)
        step = d * r_speech.uniform(0.8, 1.1, k)
        onsets = t + np.concatenate([[0.0], np.cumsum(step[:-1])])
        amp = r_speech.uniform(0.35, 1.0, k)
        wid = r_speech.uniform(-0.25, 0.2, k)
        phrases.append(np.stack([onsets, d, amp, wid]))
        t = float(onsets[-1] + step[-1] + r_speech.uniform(0.3, 1.5))
    so, sd, sa, sw = np.concatenate(phrases, axis=1) if phrases else np.zeros((4, 0))

    def arr(x: list[float]) -> np.ndarray:
        return np.asarray(x, dtype=float)

    return MotionParams(
        duration=float(duration),
        offsets=offsets,
        amps=amps,
        freqs=freqs,
        phases=phases,
        blink_times=arr(bt),
        blink_durations=arr(bd),
        syllable_onsets=so,
        syllable_durations=sd,
        syllable_amps=sa,
        syllable_widths=sw,
    )


def _events(
    t: np.ndarray, onsets: np.ndarray, durations: np.ndarray, weights: np.ndarray, shape
) -> np.ndarray:
    """Sum of ``weights[i] * shape(u)`` over events, ``u`` = position within event ``i``."""
    out = np.zeros_like(t)
    if onsets.size == 0:
        return out
    if t.size <= 64:
        u = (t[:, None] - onsets[None, :]) / durations[None, :]
        inside = (u >= 0) & (u < 1)
        return (weights[None, :] * np.where(inside, shape(np.clip(u, 0, 1)), 0.0)).sum(1)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    acc = np.zeros_like(ts)
    i0 = np.searchsorted(ts, onsets, "left")
    i1 = np.searchsorted(ts, onsets + durations, "left")
    for j in range(onsets.size):
        if i1[j] > i0[j]:
            seg = ts[i0[j] : i1[j]]
            acc[i0[j] : i1[j]] += weights[j] * shape((seg - onsets[j]) / durations[j])
    out[order] = acc
    return out


def _syllable_shape(u: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * u) ** 2


def _blink_shape(u: np.ndarray) -> np.ndarray:
    return np.clip(1.3 * np.sin(np.pi * u), 0.0, 1.0)


def mouth_at(params: MotionParams, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mouth openness (0..1) and width offset at times ``t``."""
    on, du = params.syllable_onsets, params.syllable_durations
    opening = _events(t, on, du, params.syllable_amps, _syllable_shape)
    width = _events(t, on, du, params.syllable_widths, _syllable_shape)
    return np.clip(opening, 0.0, 1.0), width


def poses_at(params: MotionParams, times: Sequence[float] | np.ndarray) -> list[HeadPose]:
    """Evaluate the motion at arbitrary times (seconds)."""
    t = np.atleast_1d(np.asarray(times, dtype=float))
    ph = 2 * math.pi * params.freqs[None] * t[:, None, None] + params.phases[None]
    ch = params.offsets[None] + (params.amps[None] * np.sin(ph)).sum(-1)  # (T, C)
    closure = np.clip(
        _events(
            t,
            params.blink_times,
            params.blink_durations,
            np.ones_like(params.blink_times),
            _blink_shape,
        ),
        0.0,
        1.0,
    )
    opening, width = mouth_at(params, t)
    eye = np.clip(ch[:, _CH["eye_base"]], 0.0, 1.0) * (1.0 - closure)
    for name in ("yaw", "brow_raise", "gaze_x", "gaze_y"):
        ch[:, _CH[name]] = np.clip(ch[:, _CH[name]], -1.0, 1.0)
    ch = ch.tolist()
    poses = []
    for i in range(t.size):
        row = ch[i]
        poses.append(
            HeadPose(
                tx=row[_CH["tx"]],
                ty=row[_CH["ty"]],
                rotation=row[_CH["rotation"]],
                scale=row[_CH["scale"]],
                yaw=row[_CH["yaw"]],
                eye_open=float(eye[i]),
                mouth_open=float(opening[i]),
                mouth_width=float(row[_CH["mouth_width"]] + width[i]),
                brow_raise=row[_CH["brow_raise"]],
                gaze_x=row[_CH["gaze_x"]],
                gaze_y=row[_CH["gaze_y"]],
                jitter_x=row[_CH["jitter_x"]],
                jitter_y=row[_CH["jitter_y"]],
            )
        )
    return poses


def pose_at(params: MotionParams, t: float) -> HeadPose:
    """Evaluate the motion at one time ``t`` (seconds)."""
    return poses_at(params, [t])[0]


def sample_motion(
    rng: np.random.Generator, num_frames: int, fps: float = DEFAULT_FPS
) -> list[HeadPose]:
    """Draw a random motion and return its poses at frames ``0 .. num_frames - 1``."""
    params = sample_motion_params(rng, num_frames / fps)
    return poses_at(params, np.arange(num_frames) / fps)
