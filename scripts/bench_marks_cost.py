"""What the provenance marks cost a job: the example animated with the marks on and off
(alternating, same process, same runtime), the animate stage's seconds compared as a ratio,
and the watermark's embedding alone timed per frame.

    python scripts/bench_marks_cost.py [--rounds 3] [--sink-only]

Timings on a shared machine are noisy: read the ratios, not the seconds. Whole jobs vary by
more than the watermark costs, so the script also times what the watermark adds to the
animate stage alone: the example's frames at the output size marked and encoded by the
job's sink, against the same frames encoded unmarked (interleaved).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from animatecli.media.sinks import open_sink
from animatecli.media.video import VideoReader
from animatecli.options import AnimateOptions, ModelOptions, ProvenanceOptions
from animatecli.provenance.watermark import Embedder, new_output_id
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
SOURCE, DRIVING = ROOT / "examples" / "source.png", ROOT / "examples" / "driving.mp4"


def sink_cost(side: int = 128, rounds: int = 4) -> None:
    """Seconds to mark and encode the example's frames vs to encode them unmarked."""
    with VideoReader(DRIVING) as reader:
        frames = [cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in reader]
    embedder = Embedder(new_output_id())
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(rounds):
            for marked in (True, False) if round_ % 2 == 0 else (False, True):
                start = time.perf_counter()
                target = Path(folder) / "out.mp4"
                with open_sink(target, side, side, Fraction(25), overwrite=True) as sink:
                    for frame in frames:
                        sink.write(embedder.mark(frame) if marked else frame)
                seconds[marked].append(time.perf_counter() - start)
    marked, plain = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(
        f"  sink, {len(frames)} frames {side}x{side}: marked+encoded {marked:.3f} s, encoded "
        f"{plain:.3f} s ({marked / plain:.3f}x; the watermark adds {marked - plain:+.3f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sink-only", action="store_true", help="Skip the whole jobs.")
    args = parser.parse_args()
    if args.sink_only:
        sink_cost()
        return
    rounds = args.rounds
    runtime = Runtime(ModelOptions(device="cpu"))
    settings = {
        "on": ProvenanceOptions(),
        "watermark off": ProvenanceOptions(watermark="off"),
        "all off": ProvenanceOptions(credentials="off", watermark="off"),
    }
    animate: dict[str, list[float]] = {name: [] for name in settings}
    total: dict[str, list[float]] = {name: [] for name in settings}
    frames, size = 0, (0, 0)
    with tempfile.TemporaryDirectory() as folder:
        # One discarded run first: the first job of a process pays one-off start-up costs.
        AnimationJob(runtime, AnimateOptions(overwrite=True)).run(
            SOURCE, DRIVING, Path(folder) / "out.mp4"
        )
        for round_ in range(rounds):
            names = list(settings) if round_ % 2 == 0 else list(reversed(settings))
            for name in names:
                options = AnimateOptions(overwrite=True, provenance=settings[name])
                result = AnimationJob(runtime, options).run(
                    SOURCE, DRIVING, Path(folder) / "out.mp4"
                )
                animate[name].append(result.stage_seconds["animate"])
                total[name].append(result.seconds)
                frames, size = result.frames, result.size
    base = statistics.median(animate["all off"])
    print(f"{frames} frames at {size[0]}x{size[1]}, {rounds} rounds, medians:")
    for name in settings:
        a, t = statistics.median(animate[name]), statistics.median(total[name])
        print(f"  {name:14s} animate stage {a:7.2f} s ({a / base:.3f}x of all off), job {t:7.2f} s")
        print(f"  {'':14s} each animate stage: {', '.join(f'{x:.2f}' for x in animate[name])}")
    frame = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    embedder = Embedder(new_output_id())
    embedder.mark(frame)  # the tiled pattern is cached per size
    count = 200
    start = time.perf_counter()
    for _ in range(count):
        embedder.mark(frame)
    per_frame = (time.perf_counter() - start) / count
    job_per_frame = statistics.median(total["on"]) / frames
    print(
        f"  watermark embedding alone: {per_frame * 1e3:.3f} ms per frame = "
        f"{per_frame / job_per_frame:.2%} of the job's time per frame"
    )
    sink_cost()


if __name__ == "__main__":
    main()
