"""Informed embedding of the watermark: measured on 7 December 2026 and NOT adopted.

(docs/provenance.md, "Tried and not adopted: a mark informed by the first frame".)

Two embedders see the first frame and build one static luma offset from it (added to every
frame like the plain tile); the detector is the shipped one, unchanged:

* ``bins``: per used frequency, a complex coefficient relative to the plain tile's, found by
  a grid search that maximises the detector's correct-shift statistic on the first frame and
  on simulated edits of it (none, half size, 10% crop, the crop resized back; each edit's
  mark response scaled by a fixed stand-in for CRF 28's loss). The response is re-measured
  through the detector's real pre-filter after each step (it is not linear: the pre-filter
  divides by a local variance that the mark itself raises); the tile's energy is kept.
* ``envelope``: the plain tile times a smooth per-pixel envelope from the first frame
  (local residual variance to the power 0.25, lowered where clipping at 0/255 would eat the
  mark), so more of the mark sits in textured regions; same RMS.

Prints, per clip and edit (then CRF 28), the 1-second windows detected by the real detector
for plain / bins / envelope (" id": the output id read back), the PSNR, and the first-frame
cost as a ratio of one detector call on one frame (all scales), measured in this script.

Usage: python scripts/bench_watermark_informed.py [--frames-dir DIR] [--cost-only] [CLIP ...]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_watermark as bench

from animatecli.provenance import watermark as wm

OUTPUT_ID = 0x2A2A
LAYOUT = wm._LAYOUT
TILE = wm.TILE
# Stand-in for what CRF 28 keeps of the mark's fold response after each edit (measured on
# the two talking photos at 128×128: 0.55-0.75, 0.33-0.39 after half size).
CODEC_GAIN = {"none": 0.6, "half": 0.35, "crop": 0.6, "cropback": 0.7}
Edit = tuple[str, float, np.ndarray, int, int]  # name, detector scale, frame, origin y, x


def plain_coefficients(output_id: int) -> np.ndarray:
    """The plain tile's complex coefficient per used frequency (sign × fixed phase)."""
    signs = np.where(LAYOUT.role < 0, 1.0, 0.0)
    bits = wm.payload_bits(output_id)
    data = LAYOUT.role >= 0
    signs[data] = 2.0 * bits[LAYOUT.role[data]] - 1.0
    return signs * np.exp(1j * LAYOUT.phase)


def tile_from(coefficients: np.ndarray, amplitude: float) -> np.ndarray:
    """TILE×TILE float64 tile with these coefficients, scaled to RMS ``amplitude``."""
    spectrum = np.zeros((TILE, TILE // 2 + 1), np.complex128)
    spectrum[LAYOUT.u, LAYOUT.v] = coefficients
    tile = np.fft.irfft2(spectrum, s=(TILE, TILE))
    return tile * (amplitude / np.sqrt(np.mean(tile**2)))


def tiled(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    reps = (-(-height // TILE), -(-width // TILE))
    return np.tile(tile, reps)[:height, :width]


def add_offset(frame: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``frame`` (H×W×3 uint8) plus the luma ``offset`` (H×W) on R, G, B, clipped, rounded."""
    marked = frame.astype(np.float32) + offset[..., None].astype(np.float32)
    np.clip(marked, 0, 255, out=marked)
    return (marked + 0.5).astype(np.uint8)


def simulated_edits(frame: np.ndarray) -> list[Edit]:
    h, w = frame.shape[:2]
    f = frame.astype(np.float32)
    cx, cy = w // 10, h // 10
    crop = f[cy : h - cy, cx : w - cx]
    half = cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    back = cv2.resize(crop, (w, h), interpolation=cv2.INTER_CUBIC)
    return [
        ("none", 1.0, f, 0, 0),
        ("half", 0.5, half, 0, 0),
        ("crop", 1.0, crop, cy, cx),
        ("cropback", w / (w - 2 * cx), back, cy, cx),
    ]


def fold_spectrum(image: np.ndarray, scale: float) -> np.ndarray:
    """The detector's fold spectrum on the used frequencies (its own pre-filter)."""
    return np.fft.rfft2(wm._fold(wm._rescale(wm._luma(image), scale)))[LAYOUT.u, LAYOUT.v]


def responses(
    frame: np.ndarray, offset: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per simulated edit: content spectrum, the offset's response, the expected phase."""
    marked = {e[0]: e for e in simulated_edits(add_offset(frame, offset).astype(np.float32))}
    out = []
    for name, scale, image, oy, ox in simulated_edits(frame):
        content = fold_spectrum(image, scale)
        response = fold_spectrum(marked[name][2], scale) - content
        shift = np.exp(2j * np.pi * (LAYOUT.u * oy + LAYOUT.v * ox) / TILE)
        out.append((name, content, response, shift))
    return out


def correct_shift_z(spectrum: np.ndarray, unit: np.ndarray) -> float:
    """The detector's z of the known part at the mark's own shift."""
    known = wm._KNOWN_SIGN != 0
    whitened = spectrum / np.maximum(np.abs(spectrum), 1e-9)
    total = np.sum(np.real(whitened * np.conj(unit))[known])
    return float(total / math.sqrt(known.sum() / 2))


def bins_offset(
    frame: np.ndarray, output_id: int, amplitude: float = wm.AMPLITUDE, steps: int = 4
) -> np.ndarray:
    """Per-frequency informed tile (see the module docstring), tiled to the frame's size."""
    h, w = frame.shape[:2]
    plain = plain_coefficients(output_id)
    n = len(plain)
    grid = np.arange(-3.0, 3.0 + 1e-9, 0.125)
    candidates = (grid[:, None] + 1j * grid[None, :]).ravel()
    cost = np.abs(candidates) ** 2
    coefficients = np.ones(n, np.complex128)
    first = responses(frame, tiled(tile_from(plain, amplitude), h, w))
    current = first

    def objective(measured: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> float:
        return sum(
            correct_shift_z(c + CODEC_GAIN[name] * r, plain * s) for name, c, r, s in measured
        )

    best = (objective(first), coefficients)
    for _ in range(steps):
        score = np.zeros((n, len(candidates)))
        for (name, content, slope, shift), (_, _, now, _) in zip(first, current, strict=True):
            # Linearised around the current coefficients, with the plain tile's response as
            # the slope per frequency.
            response = now[:, None] + (candidates[None, :] - coefficients[:, None]) * slope[:, None]
            total = content[:, None] + CODEC_GAIN[name] * response
            unit = (plain * shift)[:, None]
            score += np.real(total * np.conj(unit)) / np.maximum(np.abs(total), 1e-9)
        lo, hi = 0.0, 10.0
        for _ in range(30):  # Lagrange multiplier of the energy budget, by bisection
            mid = (lo + hi) / 2
            pick = np.argmax(score - mid * cost[None, :], axis=1)
            lo, hi = (mid, hi) if cost[pick].sum() > n else (lo, mid)
        target = candidates[np.argmax(score - hi * cost[None, :], axis=1)]
        coefficients = coefficients + 0.7 * (target - coefficients)
        coefficients *= np.sqrt(n / np.sum(np.abs(coefficients) ** 2))
        current = responses(frame, tiled(tile_from(coefficients * plain, amplitude), h, w))
        value = objective(current)
        if value > best[0]:
            best = (value, coefficients)
    return tiled(tile_from(best[1] * plain, amplitude), h, w).astype(np.float32)


def envelope_offset(
    frame: np.ndarray, output_id: int, amplitude: float = wm.AMPLITUDE, power: float = 0.25
) -> np.ndarray:
    """The plain tile times a smooth envelope from the frame's texture (see the docstring)."""
    h, w = frame.shape[:2]
    luma = wm._luma(frame)
    residual = luma - cv2.bilateralFilter(luma, -1, wm.SMOOTH_RANGE, wm.SMOOTH_SIGMA)
    local = cv2.GaussianBlur(residual * residual, (0, 0), wm.WEIGHT_SIGMA)
    envelope = (cv2.GaussianBlur(local, (0, 0), 8.0) + wm.WEIGHT_FLOOR) ** power
    room = cv2.GaussianBlur(np.minimum(luma, 255 - luma), (0, 0), 2.0)
    envelope *= np.clip(room / (2 * amplitude), 0.1, 1.0)
    envelope = np.minimum(envelope / np.sqrt(np.mean(envelope**2)), 3.0)
    offset = tiled(tile_from(plain_coefficients(output_id), 1.0), h, w) * envelope
    return (offset * (amplitude / np.sqrt(np.mean(offset**2)))).astype(np.float32)


def plain_offset(frame: np.ndarray, output_id: int) -> np.ndarray:
    h, w = frame.shape[:2]
    return tiled(wm.tile_pattern(output_id) * np.float32(wm.AMPLITUDE), h, w)


METHODS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "plain": plain_offset,
    "bins": bins_offset,
    "envelope": envelope_offset,
}


def best_seconds(call: Callable[..., object], *args: object, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="bench clip names (default: all)")
    parser.add_argument("--frames-dir", type=Path, help="also a clip of these PNG frames")
    parser.add_argument("--cost-only", action="store_true", help="only the first-frame costs")
    args = parser.parse_args()
    sources = bench.clips()
    if args.frames_dir:
        paths = sorted(args.frames_dir.glob("*.png"))
        sources[str(args.frames_dir)] = [
            cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths
        ]
    names = args.clips or list(sources)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in names:
            frames = sources[name]
            h, w = frames[0].shape[:2]
            # One detector call on one frame (all scales), the reference for the costs; the
            # best of 3 runs of each, after a warm-up (other processes may be running).
            wm.Detector(25).feed(frames[0])
            detector_s = best_seconds(wm.Detector(25).feed, frames[0])
            for method, build in METHODS.items():
                ratio = best_seconds(build, frames[0], OUTPUT_ID) / detector_s
                if args.cost_only:
                    print(f"{name} | {method} | first-frame cost {ratio:.2f}× a detector call")
                    continue
                offset = build(frames[0], OUTPUT_ID)
                marked = [add_offset(f, offset) for f in frames]
                low = min(wm.psnr(a, b) for a, b in zip(frames, marked, strict=True))
                cells = []
                for attack, vf in bench.attacks(w, h).items():
                    got = bench.read(bench.encode(marked, work / "m.mp4", 28, vf))
                    rep = wm.detect_frames(got, bench.FPS)
                    zs = " ".join(f"{r.z:.1f}" for r in rep.window_results)
                    read_ok = " id" if rep.payload_ok and rep.output_id == OUTPUT_ID else ""
                    cells.append(f"{attack}: {rep.windows_detected}/{rep.windows}{read_ok} ({zs})")
                print(
                    f"{name} | {method} | " + " | ".join(cells) + f" | PSNR min {low:.2f} dB"
                    f" | first-frame cost {ratio:.2f}× a detector call",
                    flush=True,
                )


if __name__ == "__main__":
    main()
