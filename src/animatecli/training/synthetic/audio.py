"""A voice for a seed: syllable-like audio that follows the mouth of its motion."""

from __future__ import annotations

import math

import numpy as np

from .motion import DEFAULT_FPS, mouth_at
from .seeds import AUDIO_STREAM, motion_for_seed, seed_rng


def make_speech_audio(
    seed: int, num_frames: int, fps: float = DEFAULT_FPS, sample_rate: int = 44100
) -> np.ndarray:
    """Syllable-like voiced audio whose loudness follows the mouth openness of ``seed``.

    Returns ``round(num_frames / fps * sample_rate)`` int16 mono samples. Each syllable is a
    harmonic tone with formants driven by mouth opening/width, some with a short noise
    burst (consonant) at the onset.
    """
    n = round(num_frames / fps * sample_rate)
    if n <= 0:
        return np.zeros(0, np.int16)
    rng = seed_rng(seed, AUDIO_STREAM)
    params = motion_for_seed(seed, num_frames / fps)
    t = np.arange(n) / sample_rate
    # control signals on a coarse grid, interpolated to audio rate
    tc = np.arange(0.0, n / sample_rate + 0.01, 0.005)
    open_c, width_c = mouth_at(params, tc)
    f0_base = rng.uniform(95.0, 230.0)
    p1, p2 = rng.uniform(0, 2 * math.pi, 2)
    f0_c = f0_base * (
        1 + 0.06 * np.sin(2 * math.pi * 0.25 * tc + p1) + 0.03 * np.sin(2 * math.pi * 0.9 * tc + p2)
    )
    f1_c = 320.0 + 500.0 * open_c
    f2_c = 1100.0 + 2500.0 * (width_c + 0.25)
    f0 = np.interp(t, tc, f0_c)
    phase = 2 * math.pi * np.cumsum(f0) / sample_rate
    voiced = np.zeros(n)
    for h in range(1, 17):
        hf = h * f0_c
        w = (
            np.exp(-(((hf - f1_c) / 250.0) ** 2))
            + 0.6 * np.exp(-(((hf - f2_c) / 400.0) ** 2))
            + 0.15 / h
        )
        voiced += np.interp(t, tc, w) * np.sin(h * phase)
    env = np.interp(t, tc, open_c)
    sig = voiced * env
    noise = rng.standard_normal(n)
    hiss = np.diff(noise, prepend=0.0)
    for onset, amp in zip(params.syllable_onsets, params.syllable_amps, strict=True):
        if rng.random() < 0.6:
            i0 = int(onset * sample_rate)
            i1 = min(n, i0 + int(0.04 * sample_rate))
            if i1 > i0:
                win = np.hanning(i1 - i0)
                sig[i0:i1] += 0.4 * amp * win * hiss[i0:i1]
    peak = float(np.abs(sig).max())
    sig = sig * (0.7 / peak) if peak > 0 else sig
    sig += 0.002 * noise
    return np.clip(sig * 32767.0, -32768, 32767).astype(np.int16)
