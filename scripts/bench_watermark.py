"""Watermark robustness, false detections, invisibility and cost (issue 27's targets).

Rows (1-second windows, 25 fps, H.264 through the bundled ffmpeg):
  * detection rate after CRF 28, after scaling to half size (then CRF 28), after cropping
    10% off each side (then CRF 28), on examples/driving.mp4 and on clips made here from
    scikit-image sample photos (slow zoom / pan with sensor noise);
  * false detections on the same clips unmarked (same edits), on noise and ffmpeg's lavfi
    test sources, and on thousands of short windows of unmarked content (those clips,
    scikit-image photos under camera moves, noise) at random offsets and scales (the
    threshold's calibration);
  * PSNR of the marked frames against the unmarked ones;
  * cost: embedding seconds per frame / seconds per frame of an `animate` job with the
    bundled model on the CPU (measured in this script; other processes may be running).

Usage: python scripts/bench_watermark.py [--calibration-windows N] [--skip-job]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data as skdata

from animatecli.media.video import VideoReader
from animatecli.provenance import watermark as wm

ROOT = Path(__file__).resolve().parents[1]
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
FPS = 25
SIZE = 256
SECONDS = 5


def encode(frames: list[np.ndarray], path: Path, crf: int, vf: str | None = None) -> Path:
    h, w = frames[0].shape[:2]
    cmd = [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{w}x{h}", "-r", str(FPS), "-i", "-"]
    if vf:
        cmd += ["-vf", vf]
    cmd += ["-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def read(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader)


def camera_clip(photo: np.ndarray, motion: str, seed: int) -> list[np.ndarray]:
    """A SIZE² clip of ``photo`` under a slow zoom or pan, with mild sensor noise."""
    rng = np.random.default_rng(seed)
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    h, w = photo.shape[:2]
    n = FPS * SECONDS
    frames = []
    for i in range(n):
        t = i / (n - 1)
        if motion == "zoom":
            side = min(h, w) * (1.0 - 0.35 * t)
            cy, cx = h / 2, w / 2
        else:
            side = min(h, w) * 0.7
            cy, cx = h / 2, side / 2 + (w - side) * t
        y0, x0 = int(cy - side / 2), int(cx - side / 2)
        crop = photo[y0 : y0 + int(side), x0 : x0 + int(side)]
        frame = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
        frame += rng.normal(0, 2.0, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def talking_photo(
    photo: np.ndarray, centre: tuple[float, float], seed: int, size: int = SIZE
) -> list[np.ndarray]:
    """What `animate` makes: a still size² photo whose region around ``centre`` (x, y in
    0..1) moves (a smooth local warp: nods and sways), with mild sensor noise."""
    rng = np.random.default_rng(seed)
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    h, w = photo.shape[:2]
    side = min(h, w)
    still = cv2.resize(
        photo[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2],
        (size, size),
        interpolation=cv2.INTER_AREA,
    )
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = centre[0] * size, centre[1] * size
    bump = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (size * 0.18) ** 2))
    frames = []
    for i in range(FPS * SECONDS):
        t = i / FPS
        dx = 6.0 * size / SIZE * math.sin(2 * math.pi * 0.7 * t) * bump
        dy = 4.0 * size / SIZE * math.sin(2 * math.pi * 1.1 * t + 1.0) * bump
        frame = cv2.remap(still, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frame = frame.astype(np.float32) + rng.normal(0, 2.0, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def demo_output() -> list[np.ndarray]:
    """`make demo`'s output unmarked (examples/source.png animated by examples/driving.mp4
    with the bundled model, 128×128): the bench marks it itself, like every clip."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo.mp4"
        cmd = [sys.executable, "-m", "animatecli", str(ROOT / "examples" / "source.png")]
        cmd += [str(ROOT / "examples" / "driving.mp4"), "-o", str(out), "-y", "--quiet"]
        cmd += ["--watermark", "off", "--credentials", "off"]
        subprocess.run(cmd, check=True)
        return read(out)


def clips() -> dict[str, list[np.ndarray]]:
    driving = read(ROOT / "examples" / "driving.mp4")
    return {
        "examples/driving.mp4": driving,
        # What `make demo` writes (before its marks): the examples through the bundled model.
        "the demo's output (128x128)": demo_output(),
        # The bundled model's output size: a quarter of the pixels, harder (see the docs).
        "driving at 128x128": [
            cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in driving
        ],
        # Like animate's outputs: a still photo with a moving face (static camera).
        "astronaut talking": talking_photo(skdata.astronaut(), (0.45, 0.3), 4),
        "cat talking": talking_photo(skdata.chelsea(), (0.5, 0.45), 5),
        "astronaut talking at 128x128": talking_photo(skdata.astronaut(), (0.45, 0.3), 6, 128),
        "cat talking at 128x128": talking_photo(skdata.chelsea(), (0.5, 0.45), 7, 128),
        # Stress rows: the whole frame moves (camera zoom/pan), which animate never makes.
        "astronaut camera zoom": camera_clip(skdata.astronaut(), "zoom", 1),
        "coffee camera pan": camera_clip(skdata.coffee(), "pan", 2),
        "camera (gray) zoom": camera_clip(skdata.camera(), "zoom", 3),
    }


def attacks(w: int, h: int) -> dict[str, str | None]:
    cx, cy = w // 10, h // 10
    return {
        "CRF 28": None,
        "half size": f"scale={w // 2 // 2 * 2}:{h // 2 // 2 * 2}",
        "crop 10%": f"crop={w - 2 * cx}:{h - 2 * cy}:{cx}:{cy}",
        # The same crop resized back to the original size: also a 1.25x scale change.
        "crop 10% + resize back": f"crop={w - 2 * cx}:{h - 2 * cy}:{cx}:{cy},scale={w}:{h}",
    }


# Still photos bundled with scikit-image (no download): faces, animals, text, regular
# textures (brick, checkerboard), microscopy, astronomy; shown with camera moves.
STILLS = (
    "astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text",
    "brick", "grass", "gravel", "checkerboard", "clock", "immunohistochemistry",
    "hubble_deep_field", "logo", "horse", "cell", "colorwheel", "shepp_logan_phantom",
)  # fmt: skip
# Synthetic sources of ffmpeg's lavfi (what the test suite generates, and strong regular
# patterns): 2 s each at 128x128 and 256x256.
LAVFI = ("testsrc", "testsrc2", "smptebars", "mandelbrot", "life", "cellauto", "rgbtestsrc")


def still_photo(name: str) -> np.ndarray:
    """A scikit-image sample as RGB uint8."""
    image = np.asarray(getattr(skdata, name)())
    if image.dtype != np.uint8:
        image = (255 * (image.astype(np.float64) / max(float(image.max()), 1e-9))).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def lavfi_clip(source: str, size: int) -> list[np.ndarray]:
    cmd = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", f"{source}=size={size}x{size}:rate={FPS}"]
    cmd += ["-t", "2", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)
    return [f.copy() for f in frames]


def moving_still(photo: np.ndarray, rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """``frames`` frames of a random camera move (zoom and pan) over ``photo`` at a random
    output size, with random sensor noise."""
    h, w = photo.shape[:2]
    size = int(rng.choice([96, 128, 160, 192, 256, 320]))
    side0 = min(h, w) * rng.uniform(0.4, 1.0)
    side1 = side0 * rng.uniform(0.8, 1.0)
    y0, x0 = rng.uniform(0, h - side0), rng.uniform(0, w - side0)
    y1, x1 = rng.uniform(0, h - side1), rng.uniform(0, w - side1)
    noise = rng.uniform(0, 4)
    out = []
    for i in range(frames):
        t = 0.04 * i * rng.uniform(0.5, 1.5)
        t = min(t, 1.0)
        side = side0 + (side1 - side0) * t
        y, x = int(y0 + (y1 - y0) * t), int(x0 + (x1 - x0) * t)
        crop = photo[y : y + int(side), x : x + int(side)]
        frame = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        frame += rng.normal(0, noise, frame.shape)
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return out


def calibration_windows(
    pool: list[list[np.ndarray]], count: int, work: Path, seed: int = 11
) -> Iterator[tuple[str, list[np.ndarray]]]:
    """Unmarked windows (10 frames) of: the bench clips and lavfi sources after the edits
    (``pool``), scikit-image stills under camera moves (half of them through CRF 28), and
    noise; each then shifted by a random offset and resized by a random scale."""
    rng = np.random.default_rng(seed)
    stills = [still_photo(name) for name in STILLS]
    n = 10
    for k in range(count):
        kind = ("pool", "pool", "still", "still", "noise")[k % 5]
        if kind == "noise":
            side = int(rng.integers(64, 320))
            yield kind, [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(n)]
            continue
        if kind == "pool":
            clip = pool[int(rng.integers(len(pool)))]
            start = int(rng.integers(0, len(clip) - n + 1))
            frames = clip[start : start + n]
        else:
            frames = moving_still(stills[int(rng.integers(len(stills)))], rng, n)
            if k % 10 == 2:
                frames = read(encode(frames, work / "cal.mp4", 28))
        scale = float(rng.choice([1.0, 1.0, rng.uniform(0.45, 1.3)]))
        oy, ox = (int(v) for v in rng.integers(0, 24, 2))
        window = []
        for frame in frames:
            f = frame[oy:, ox:]
            size = (max(48, int(f.shape[1] * scale)), max(48, int(f.shape[0] * scale)))
            window.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
        yield kind, window


def note_maxima(maxima: dict[str, float], report: wm.WatermarkReport) -> str:
    """Raise ``maxima`` to ``report``'s highest z-score of each family of hypotheses;
    returns them as text."""
    for result in report.window_results:
        maxima[wm.ANY_SHIFT] = max(maxima.get(wm.ANY_SHIFT, 0.0), result.best_any_shift)
        maxima[wm.IN_PLACE] = max(maxima.get(wm.IN_PLACE, 0.0), result.best_in_place)
    any_shift, in_place = maxima.get(wm.ANY_SHIFT, 0.0), maxima.get(wm.IN_PLACE, 0.0)
    return f"{any_shift:.1f} any shift / {in_place:.1f} in place"


def job_seconds_per_frame(workdir: Path) -> tuple[float, int]:
    """Seconds per frame of a whole `animate` job, bundled model, CPU (decode to encode)."""
    out = workdir / "job.mp4"
    cmd = [sys.executable, "-m", "animatecli", str(ROOT / "examples" / "source.png")]
    cmd += [str(ROOT / "examples" / "driving.mp4"), "-o", str(out), "-y", "--json"]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    frames = int(lines[0]["frames"]) if lines and "frames" in lines[0] else 125
    return wall / frames, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration-windows", type=int, default=1000)
    parser.add_argument("--skip-job", action="store_true", help="no cost row")
    args = parser.parse_args()
    print(
        f"thresholds: z-score (sync + tool mark) >= {wm.Z_THRESHOLD} at any shift, "
        f">= {wm.Z_THRESHOLD_IN_PLACE} in place (shift 0); scales tried: {wm.SCALES}"
    )
    sources = clips()
    rows = []
    unmarked_hits = unmarked_windows = 0
    unmarked_videos_flagged = unmarked_videos = 0
    max_unmarked = {wm.ANY_SHIFT: 0.0, wm.IN_PLACE: 0.0}
    psnrs = []
    # Unmarked clips after the edits, 30 frames each, for the calibration windows.
    pool: list[list[np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, frames in sources.items():
            embedder = wm.Embedder(0x2A2A)
            marked = [embedder.mark(f) for f in frames]
            psnrs += [wm.psnr(a, b) for a, b in zip(frames, marked, strict=True)]
            h, w = frames[0].shape[:2]
            for attack, vf in attacks(w, h).items():
                got = read(encode(marked, work / "m.mp4", 28, vf))
                rep = wm.detect_frames(got, FPS)
                clean_frames = read(encode(frames, work / "c.mp4", 28, vf))
                pool.append(clean_frames[40:70])
                clean = wm.detect_frames(clean_frames, FPS)
                unmarked_hits += clean.windows_detected
                unmarked_windows += clean.windows
                unmarked_videos += 1
                unmarked_videos_flagged += clean.detected
                note_maxima(max_unmarked, clean)
                rows.append((name, attack, rep, clean))
                print(
                    f"{name:28s} {attack:22s} marked: {rep.windows_detected}/{rep.windows} "
                    f"windows (least margin {min(r.margin for r in rep.window_results):+.1f}"
                    f", id ok {rep.payload_ok and rep.output_id == 0x2A2A}) | unmarked: "
                    f"{clean.windows_detected}/{clean.windows} (max z "
                    f"{note_maxima({}, clean)})",
                    flush=True,
                )
        rng = np.random.default_rng(5)
        for i in range(4):
            noise = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(50)]
            rep = wm.detect_frames(read(encode(noise, work / f"n{i}.mp4", 28)), FPS)
            unmarked_hits += rep.windows_detected
            unmarked_windows += rep.windows
            unmarked_videos += 1
            unmarked_videos_flagged += rep.detected
            note_maxima(max_unmarked, rep)
        for source in LAVFI:
            for size in (128, 256):
                clip = lavfi_clip(source, size)
                pool.append(read(encode(clip, work / "l.mp4", 28)))
                rep = wm.detect_frames(pool[-1], FPS)
                unmarked_hits += rep.windows_detected
                unmarked_windows += rep.windows
                unmarked_videos += 1
                unmarked_videos_flagged += rep.detected
                note_maxima(max_unmarked, rep)
        calib: dict[str, list[tuple[float, float, bool]]] = {}
        started = time.perf_counter()
        for kind, window in calibration_windows(pool, args.calibration_windows, work):
            (result,) = wm.detect_frames(window, len(window)).window_results
            calib.setdefault(kind, []).append(
                (result.best_any_shift, result.best_in_place, result.detected)
            )
        calib_seconds = time.perf_counter() - started
        cost = None
        if not args.skip_job:
            job_spf, job_frames = job_seconds_per_frame(work)
            small = [cv2.resize(f, (128, 128)) for f in sources["examples/driving.mp4"]]
            embedder = wm.Embedder(1)
            started = time.perf_counter()
            for _ in range(4):
                for f in small:
                    embedder.mark(f)
            embed_spf = (time.perf_counter() - started) / (4 * len(small))
            cost = (embed_spf, job_spf, job_frames)

    print(
        "\n| clip | edit (then CRF 28) | 1-s windows detected (marked) | unmarked windows flagged |"
    )
    print("|---|---|---|---|")
    for name, attack, rep, clean in rows:
        id_ok = " (id ok)" if rep.payload_ok and rep.output_id == 0x2A2A else ""
        print(
            f"| {name} | {attack} | {rep.windows_detected}/{rep.windows}{id_ok} "
            f"| {clean.windows_detected}/{clean.windows} |"
        )
    total = sum(r.windows for *_, r, _ in rows)
    hit = sum(r.windows_detected for *_, r, _ in rows)
    print(f"\nall edits, all clips: {hit}/{total} windows detected ({100 * hit / total:.1f}%)")
    print(
        f"unmarked videos (the clips unmarked after each edit, noise, lavfi sources): "
        f"{unmarked_videos_flagged}/{unmarked_videos} flagged, windows "
        f"{unmarked_hits}/{unmarked_windows}, max z {max_unmarked[wm.ANY_SHIFT]:.2f} at any "
        f"shift (threshold {wm.Z_THRESHOLD}), {max_unmarked[wm.IN_PLACE]:.2f} in place "
        f"(threshold {wm.Z_THRESHOLD_IN_PLACE})"
    )
    stats = np.concatenate([np.asarray(v, dtype=float) for v in calib.values()])
    any_shift, in_place, flagged = stats[:, 0], stats[:, 1], int(stats[:, 2].sum())

    def tail(z: float) -> float:
        return 0.5 * math.erfc(z / math.sqrt(2))

    # Gaussian bound of each family (hypotheses x tail), for comparison.
    scales = len(wm.SCALES)
    bound_any = tail(wm.Z_THRESHOLD) * wm.TILE**2 * scales
    bound_in_place = tail(wm.Z_THRESHOLD_IN_PLACE) * scales
    per_kind = ", ".join(
        f"{k} {len(v)} (max {max(a for a, _, _ in v):.2f} / {max(b for _, b, _ in v):.2f})"
        for k, v in calib.items()
    )
    print(
        f"calibration: {len(stats)} unmarked 10-frame windows at random offsets and scales "
        f"({per_kind}, any shift / in place; {calib_seconds:.0f} s)\n"
        f"  any shift: max z {any_shift.max():.2f}, 99th pct {np.percentile(any_shift, 99):.2f}"
        f", 99.9th pct {np.percentile(any_shift, 99.9):.2f}, "
        f"{int((any_shift >= wm.Z_THRESHOLD).sum())} at or over {wm.Z_THRESHOLD} "
        f"(Gaussian bound per window {bound_any:.1e})\n"
        f"  in place: max z {in_place.max():.2f}, 99th pct {np.percentile(in_place, 99):.2f}"
        f", 99.9th pct {np.percentile(in_place, 99.9):.2f}, "
        f"{int((in_place >= wm.Z_THRESHOLD_IN_PLACE).sum())} at or over "
        f"{wm.Z_THRESHOLD_IN_PLACE} (Gaussian bound per window {bound_in_place:.1e})\n"
        f"  windows detected: {flagged} (95% upper bound on the per-window rate "
        f"{3 / len(stats):.1e} when 0; Gaussian bound {bound_any + bound_in_place:.1e})"
    )
    print(f"PSNR marked vs unmarked: min {min(psnrs):.2f} dB, mean {np.mean(psnrs):.2f} dB")
    if cost is not None:
        embed_spf, job_spf, job_frames = cost
        print(
            f"cost: embed {1000 * embed_spf:.3f} ms/frame at 128x128 vs bundled-model job "
            f"{1000 * job_spf:.1f} ms/frame ({job_frames} frames, whole CLI run): "
            f"{100 * embed_spf / job_spf:.2f}% of the job's time"
        )


if __name__ == "__main__":
    main()
