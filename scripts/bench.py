"""``make bench``: engine and end-to-end throughput on this machine, as a table.

Engine rows use the official vox-256 architecture of every registered family (FOMM and
TPSMM today) at 256×256 with random weights: (a) the naive path of the original demos
(the source is re-encoded for every frame, batch 1), (b) our Animator (source cached,
channels-last) at several batch sizes and, on CUDA, in fp32, fp16 and bf16 autocast.
End-to-end rows run ``animate`` on generated driving videos (decode + align + animate +
encode + mux) with the bundled model or, with ``--e2e-model FAMILY``, a random vox-256
file of that family in the official layout, and report peak RSS. ``--device cuda``
benchmarks the GPU path (`make cuda-check`).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from animatecli.engine import (
    FAMILIES,
    Animator,
    MotionMode,
    MotionModel,
    family_named,
    frames_to_tensor,
    load_checkpoint,
    movement_scale,
    official_container,
)
from animatecli.models import resolve_checkpoint
from animatecli.training import synthetic

ROOT = Path(__file__).resolve().parents[1]
BENCH_CONFIG = "vox-256"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer measures work done rather than launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Runner = Callable[[torch.Tensor], None]


def naive_runner(model: MotionModel, source: torch.Tensor, initial: torch.Tensor) -> Runner:
    """The original demos' loop: batch 1, the source re-encoded for every frame."""
    model = model.to(source.device).eval()
    relative = MotionMode.RELATIVE
    with torch.inference_mode():
        kp_source = model.detect(source)
        kp_initial = model.detect(initial)
        scale = movement_scale(kp_source, kp_initial)

    @torch.inference_mode()
    def run(frames: torch.Tensor) -> None:
        for frame in frames:
            kp = model.transfer(kp_source, model.detect(frame[None]), kp_initial, relative, scale)
            model.generate(model.encode_source(source), kp, kp_source)

    return run


def animator_runner(
    model: MotionModel,
    source: torch.Tensor,
    initial: torch.Tensor,
    batch: int,
    precision: str = "fp32",
) -> Runner:
    """Our Animator on a copy of ``model`` (it takes its model over: channels-last)."""
    device = source.device
    animator = Animator(
        copy.deepcopy(model), device=device, precision=precision, channels_last=True
    )
    session = animator.session(source[0], initial=initial)
    for _ in range(2):  # warm-up (cuDNN picks its kernels per shape on first use)
        session.animate_batch(initial.expand(batch, -1, -1, -1))

    def run(frames: torch.Tensor) -> None:
        for chunk in frames.split(batch):
            session.animate_batch(chunk)

    return run


def interleaved_fps(
    runners: dict[str, Runner], frames: torch.Tensor, unit: int
) -> dict[str, float]:
    """Frames/s of each runner, taking turns ``unit`` frames at a time, so that a varying
    load on the machine (other processes) falls on every runner alike."""
    device = frames.device
    seconds = dict.fromkeys(runners, 0.0)
    for chunk in frames.split(unit):
        for name, run in runners.items():
            synchronize(device)
            start = time.perf_counter()
            run(chunk)
            synchronize(device)
            seconds[name] += time.perf_counter() - start
    return {name: len(frames) / total for name, total in seconds.items()}


def end_to_end(
    frames: int, workdir: Path, device_args: list[str], checkpoint: Path
) -> dict[str, float]:
    """Run the CLI in a fresh process on a synthetic driving video; fps and peak RSS."""
    driving = workdir / f"driving-{frames}.mp4"
    if not driving.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "make_examples.py"),
                "--driving-only",
                "--frames",
                str(frames),
                "--driving",
                str(driving),
            ],
            check=True,
        )
    # Peak RSS from VmHWM, the high-water mark of this process's own memory: ru_maxrss
    # would report the parent's size at fork time when that was larger (it was, here).
    probe = (
        "import json,re,sys,time;from animatecli.cli import app;"
        "t=time.perf_counter();"
        "args=sys.argv[1:];"
        "code=0\n"
        "try: app(args, standalone_mode=False)\n"
        "except SystemExit as e: code=e.code\n"
        "print(json.dumps({'code':code,'seconds':time.perf_counter()-t,"
        "'rss':int(re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read())[1])/1024}))"
    )
    out = workdir / f"out-{frames}.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "run",
            str(ROOT / "examples" / "source.png"),
            str(driving),
            "-o",
            str(out),
            "-y",
            "--json",
            "--align",
            "best",
            "--checkpoint",
            str(checkpoint),
            *device_args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    job, probe_out = lines[0], lines[-1]
    return {
        "frames": frames,
        "fps": job["frames"] / job["seconds"],
        "animate_fps": job["frames"] / job["stage_seconds"]["animate"],
        "rss": probe_out["rss"],
    }


def engine_fps(
    checkpoint: Path, device: torch.device, precision: str, batch: int, frames: int
) -> float:
    """Engine-only frames/s of a checkpoint's model (the reference for end-to-end)."""
    loaded = load_checkpoint(checkpoint)
    size = loaded.config.frame_shape
    pixels = np.random.default_rng(0).integers(0, 255, (frames, *size, 3), np.uint8)
    clip = frames_to_tensor(pixels, device)
    runner = animator_runner(loaded.model, clip[:1], clip[:1], batch, precision)
    return interleaved_fps({"animator": runner}, clip, batch)["animator"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, help="frames per engine row (8 CPU, 64 CUDA)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument(
        "--families",
        nargs="+",
        default=[f.name for f in FAMILIES if BENCH_CONFIG in f.official_configs],
        help="engine rows: every registered family with a vox-256 config by default",
    )
    parser.add_argument("--e2e-frames", type=int, nargs="+", default=[60, 600])
    parser.add_argument(
        "--e2e-model",
        choices=["bundled", *(f.name for f in FAMILIES)],
        default="bundled",
        help="end-to-end rows with the bundled model, or a family's vox-256 file in the "
        "official layout with random weights",
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    console = Console()
    where = torch.cuda.get_device_name(device) if on_gpu else f"{torch.get_num_threads()} threads"
    console.print(f"torch {torch.__version__}, {device}: {where}")

    if not args.skip_engine:
        if not on_gpu:
            load_table(args.families, console)
            data_table(console)
        for family in args.families:
            engine_table(family, args.frames or (64 if on_gpu else 8), device, console)
    if not args.skip_e2e:
        e2e_table(args.e2e_frames, device, console, args.e2e_model)


def load_seconds(path: Path) -> float:
    start = time.perf_counter()
    load_checkpoint(path)
    return time.perf_counter() - start


def random_official_file(family: str, folder: Path) -> Path:
    """A vox-256 model of ``family`` with random weights (every optional network
    included), saved in its official container under the released file's name."""
    record = family_named(family)
    config, file_name = record.official_configs[BENCH_CONFIG]
    path = folder / file_name
    torch.save(official_container(record.build(config, record.optional_parts)), path)
    return path


def load_table(families: list[str], console: Console) -> None:
    table = Table(title="checkpoint load time (file read + build + weights)")
    table.add_column("checkpoint")
    table.add_column("seconds", justify="right")
    table.add_row("bundled model", f"{load_seconds(resolve_checkpoint(None)[0]):.2f}")
    for family in families:
        with tempfile.TemporaryDirectory() as tmp:
            path = random_official_file(family, Path(tmp))
            label = f"{family.upper()} {BENCH_CONFIG}, official layout, random weights"
            table.add_row(label, f"{load_seconds(path):.2f}")
    console.print(table)


def data_table(console: Console) -> None:
    """Cost of the procedural training data (it must not starve the training step)."""
    style = synthetic.style_for_seed(8)
    poses = synthetic.video_poses(8, 40)
    table = Table(title="synthetic training data")
    table.add_column("operation")
    table.add_column("ms", justify="right")
    for size in (256, 128):
        synthetic.render_frame(style, poses[0], size)  # builds the cached identity layers
        start = time.perf_counter()
        for pose in poses:
            synthetic.render_frame(style, pose, size)
        ms = (time.perf_counter() - start) / len(poses) * 1e3
        table.add_row(f"render one {size}x{size} frame", f"{ms:.1f}")
    rng = np.random.default_rng(3)
    start = time.perf_counter()
    for _ in range(10):
        synthetic.sample_training_pair(rng, 128)
    ms = (time.perf_counter() - start) / 10 * 1e3
    table.add_row("sample one 128x128 training pair", f"{ms:.1f}")
    console.print(table)


def engine_table(family: str, count: int, device: torch.device, console: Console) -> None:
    record = family_named(family)
    model = record.build(record.official_config(BENCH_CONFIG), ()).eval()
    source = torch.rand(1, 3, 256, 256, device=device)
    frames = torch.rand(count, 3, 256, 256, device=device)
    title = f"engine, {family.upper()} vox-256 architecture, 256x256, random weights, {device}"
    table = Table(title=title)
    table.add_column("path")
    table.add_column("frames/s", justify="right")
    table.add_column("vs naive", justify="right")
    if device.type == "cuda":
        rows = [("fp32", b) for b in (1, 8, 16)] + [
            (p, b) for p in ("fp16", "bf16") for b in (8, 16)
        ]
    else:
        rows = [("fp32", 1), ("fp32", 4)]
    naive = "naive per-frame (original demo loop)"
    runners = {naive: naive_runner(model, source, frames[:1])}
    for precision, batch in rows:
        label = f"Animator, cached source, channels-last, {precision}, batch {batch}"
        runners[label] = animator_runner(model, source, frames[:1], batch, precision)
    fps = interleaved_fps(runners, frames, unit=max(batch for _, batch in rows))
    for label, value in fps.items():
        table.add_row(label, f"{value:.3f}", f"{value / fps[naive]:.2f}x")
    console.print(table)


def e2e_table(counts: list[int], device: torch.device, console: Console, model: str) -> None:
    e2e = Table(
        title=f"end to end ({model} model, {device}): decode + align + animate + encode + mux"
    )
    columns = (
        "driving frames",
        "precision",
        "whole job frames/s",
        "animate stage frames/s",
        "engine-only frames/s",
        "stage / engine",
        "peak RSS MiB",
    )
    for column in columns:
        e2e.add_column(column, justify="right")
    # The CLI's default batch: 1 frame per model call on CPU, 8 on CUDA.
    batch = 8 if device.type == "cuda" else 1
    precisions = ["fp32", "fp16"] if device.type == "cuda" else ["fp32"]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = resolve_checkpoint(None)[0]
        # The engine-only reference: 64 frames, fewer for a full-size model on the CPU.
        reference_frames = 64
        if model != "bundled":
            checkpoint = random_official_file(model, Path(tmp))
            reference_frames = 64 if device.type == "cuda" else 8
        for precision in precisions:
            reference = engine_fps(checkpoint, device, precision, batch, reference_frames)
            device_args = ["--device", str(device)] + (["--fp16"] if precision == "fp16" else [])
            for count in counts:
                row = end_to_end(count, Path(tmp), device_args, checkpoint)
                e2e.add_row(
                    str(count),
                    precision,
                    f"{row['fps']:.2f}",
                    f"{row['animate_fps']:.2f}",
                    f"{reference:.2f}",
                    f"{row['animate_fps'] / reference:.2f}",
                    f"{row['rss']:.0f}",
                )
    console.print(e2e)


if __name__ == "__main__":
    main()
