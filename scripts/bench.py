"""``make bench``: engine and end-to-end throughput on this machine, as a table.

Engine rows use the official vox-256 architecture of every registered family (FOMM and
TPSMM today) at 256×256 with random weights: (a) the naive path of the original demos
(the source is re-encoded for every frame, batch 1), (b) our Animator (source cached,
channels-last) at several batch sizes and, on CUDA, in fp32, fp16 and bf16 autocast.
End-to-end rows run ``animate`` on generated driving videos (decode + align + animate +
encode + mux) with the bundled model or, with ``--e2e-model FAMILY``, a random vox-256
file of that family in the official layout, and report peak RSS. ``--device cuda``
benchmarks the GPU path (`make cuda-check`).
On the CPU also: each engine optimisation's share (source cached, channels-last, the
inference rewrites), the CLI's cost per frame (job at 24 frames − at 8, over 16, against
the naive loop), concurrent ``animate`` runs against the same runs one after another,
``batch --jobs 2`` against ``--jobs 1``, and the peak RSS of whole vox-256 jobs of each
family by driving length and size (``--memory-frames``); the checkpoints are written as
the training scripts wrote the released files (discriminator and optimizer states
included; FOMM's in torch's legacy format), so the load table (time and peak) and the
memory rows are what users see. The exactness table gives each inference rewrite's
error against a float64 run of the same weights and its speed (scripts/exactness.py).
Smoothing rows time ``--smooth auto`` (the One-Euro keypoint filter) per frame against
the bundled model's own time per frame.
Group rows time ``--faces all``: 1, 2 and 4 faces animated together (one generator batch
per driving frame) against as many separate sessions, taking turns.
Crop rows run ``animate crop`` (scan + cut) on a face panning across generated 640×360,
1280×720 and 1920×1080 30-fps videos, per usable face detector backend, with the seconds
of its two stages (scan: decode + detect; write: ffmpeg's second decode + cut + encode).
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
    AnimationSession,
    Animator,
    GroupSession,
    Keypoints,
    KeypointSmoother,
    MotionMode,
    MotionModel,
    OneEuroSettings,
    family_named,
    frames_to_tensor,
    load_checkpoint,
    movement_scale,
)
from animatecli.engine.inference import prepare_for_inference
from animatecli.engine.training_layout import full_official_container
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
    *,
    channels_last: bool = True,
    optimize: bool = True,
    winograd: bool = True,
) -> Runner:
    """Our Animator on a copy of ``model`` (it takes its model over): channels-last and
    the inference rewrites by default, as the CLI runs it; ``winograd=False`` leaves the
    CPU's Winograd convolutions and instance-norm rewrite out (the share they bring)."""
    device = source.device
    model = copy.deepcopy(model).to(device)
    if optimize and not winograd:
        if channels_last:
            model.to(memory_format=torch.channels_last)
        prepare_for_inference(model, cpu_rewrites=False)
        optimize = False
    animator = Animator(
        model,
        device=device,
        precision=precision,
        channels_last=channels_last,
        optimize=optimize,
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


def driving_video(workdir: Path, frames: int, width: int = 256, height: int = 256) -> Path:
    """A synthetic talking-head driving video (256×256, or scaled to ``height`` and padded
    to ``width``), made once per size."""
    square = workdir / f"driving-{frames}.mp4"
    if not square.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "make_examples.py"), "--driving-only",
             "--frames", str(frames), "--driving", str(square)],
            check=True,
        )  # fmt: skip
    if (width, height) == (256, 256):
        return square
    path = workdir / f"driving-{frames}-{width}x{height}.mp4"
    if not path.exists():
        cmd = [
            sys.executable, "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"
        ]  # fmt: skip
        ffmpeg = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        left = (width - height) // 2
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-i", str(square),
             "-vf", f"scale={height}:{height},pad={width}:{height}:{left}:0",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
            check=True,
        )  # fmt: skip
    return path


# Runs the CLI in this interpreter and prints its wall seconds and peak RSS. VmHWM is the
# high-water mark of this process's own memory: ru_maxrss would report the parent's size
# at fork time when that was larger (it was, here).
# The CLI as the `animate` entry point runs it (huge pages asked for before torch loads).
PROBE = (
    "import json,re,sys,time;from animatecli.memory import request_huge_pages;"
    "request_huge_pages();from animatecli.cli import app;"
    "t=time.perf_counter();"
    "args=sys.argv[1:];"
    "code=0\n"
    "try: app(args, standalone_mode=False)\n"
    "except SystemExit as e: code=e.code\n"
    "print(json.dumps({'code':code,'seconds':time.perf_counter()-t,"
    "'rss':int(re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read())[1])/1024}))"
)


def end_to_end(
    driving: Path, workdir: Path, device_args: list[str], checkpoint: Path
) -> dict[str, float]:
    """Run the CLI in a fresh process on a driving video; fps, seconds and peak RSS."""
    out = workdir / f"out-{driving.stem}.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
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
        "frames": job["frames"],
        "fps": job["frames"] / job["seconds"],
        "animate_fps": job["frames"] / job["stage_seconds"]["animate"],
        "seconds": probe_out["seconds"],
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
    parser.add_argument(
        "--skip-threads", action="store_true", help="no CLI per-frame, concurrency, --jobs rows"
    )
    parser.add_argument("--memory-frames", type=int, nargs="+", default=[60, 600])
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-exactness", action="store_true")
    parser.add_argument("--skip-smoothing", action="store_true")
    parser.add_argument("--skip-group", action="store_true")
    parser.add_argument("--skip-crop", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="also where each family's frame time goes"
    )
    parser.add_argument("--crop-seconds", type=float, default=4.0, help="length of crop videos")
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
            if not args.skip_exactness:
                exactness_table(args.families, 6, console)
            data_table(console)
        for family in args.families:
            count = args.frames or (64 if on_gpu else 8)
            engine_table(family, count, device, console)
            if args.profile and not on_gpu:
                profile_table(family, 4, console)
    if not args.skip_threads and not on_gpu:
        cli_per_frame_table(console, args.families)
        concurrency_table(console)
        jobs_table(console)
    if not args.skip_memory and not on_gpu:
        memory_table(args.memory_frames, console, args.families)
    if not args.skip_e2e:
        e2e_table(args.e2e_frames, device, console, args.e2e_model)
    if not args.skip_smoothing:
        smoothing_table(device, console)
    if not args.skip_group:
        group_table(device, console)
    if not args.skip_crop and not on_gpu:
        crop_table(args.crop_seconds, console)
        recall_table(console)


# Loads a checkpoint in a fresh interpreter: seconds and peak RSS (VmHWM), both of the
# load alone and of the whole process.
_LOAD_PROBE = """
import json, re, sys, time
from animatecli.engine import load_checkpoint
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024
before = peak()
start = time.perf_counter()
load_checkpoint(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "grown": peak() - before,
                  "peak": peak()}))
"""


def load_probe(path: Path) -> dict[str, float]:
    """Seconds and peak RSS (MiB) of loading ``path`` in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


# The released files' formats: FOMM's were written by torch 1.0 (the legacy format),
# TPSMM's by torch 1.10 (the zip archive).
LEGACY_FORMAT = {"fomm": True, "tpsmm": False}


def random_official_file(family: str, folder: Path, *, legacy: bool | None = None) -> Path:
    """A vox-256 model of ``family`` with random weights (every optional network
    included), saved in its official container as the training scripts wrote it (the
    discriminator and the optimizers' states included, see `training_layout`), in the
    released file's format (``legacy`` overrides) under the released file's name."""
    record = family_named(family)
    config, file_name, _ = record.official_configs[BENCH_CONFIG]
    path = folder / file_name
    legacy = LEGACY_FORMAT.get(family, False) if legacy is None else legacy
    container = full_official_container(record.build(config, record.optional_parts))
    torch.save(container, path, _use_new_zipfile_serialization=not legacy)
    return path


def load_table(families: list[str], console: Console) -> None:
    table = Table(title="checkpoint load (fresh process: file read + build + weights)")
    for column in ("checkpoint", "file MB", "seconds", "load's own peak MiB", "process peak MiB"):
        table.add_column(column, justify="right")
    bundled = resolve_checkpoint(None)[0]
    rows = [("bundled model", bundled)]
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            for legacy in (True, False):
                folder = Path(tmp) / f"{family}-{legacy}"
                folder.mkdir()
                path = random_official_file(family, folder, legacy=legacy)
                form = "legacy" if legacy else "zip"
                rows.append(
                    (f"{family.upper()} {BENCH_CONFIG}, full official layout, {form}", path)
                )
        for label, path in rows:
            probe = load_probe(path)
            table.add_row(
                label,
                f"{path.stat().st_size / 1e6:.0f}",
                f"{probe['seconds']:.2f}",
                f"{probe['grown']:.0f}",
                f"{probe['peak']:.0f}",
            )
    console.print(table)


def exactness_table(families: list[str], frames: int, console: Console) -> None:
    """Each inference rewrite's error against a float64 run of the same weights (the
    families' reference fixtures, every eligible convolution by Winograd) and its speed
    (vox-256, random weights), against the plain float32 run the original computes."""
    import exactness

    for family in families:
        table = Table(title=f"{family.upper()}: each rewrite against float64 (output levels)")
        table.add_column("rewrite")
        errors = exactness.exactness_rows(family)
        for mode in errors:
            table.add_column(f"{mode} max", justify="right")
            table.add_column(f"{mode} mean", justify="right")
        table.add_column("speed (x float32 original)", justify="right")
        speeds = {
            row.variant: row.seconds_per_frame for row in exactness.speed_rows(family, frames)
        }
        base = next(iter(speeds.values()))
        first = next(iter(errors.values()))
        for index, row in enumerate(first):
            cells = []
            for rows in errors.values():
                cells += [f"{rows[index].max_levels:.4f}", f"{rows[index].mean_levels:.6f}"]
            speed = speeds.get(row.variant)
            cells.append("" if speed is None else f"{base / speed:.2f}")
            table.add_row(row.variant, *cells)
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
    """Engine rows of one family."""
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
    if device.type == "cpu":
        # Each optimisation's share at batch 1: the source cached, then channels-last.
        runners["Animator, cached source only, fp32, batch 1"] = animator_runner(
            model, source, frames[:1], 1, channels_last=False, optimize=False
        )
        runners["  + channels-last, batch 1"] = animator_runner(
            model, source, frames[:1], 1, optimize=False
        )
        runners["  + BN folded, phase up-convs, bottom convs as matmuls, batch 1"] = (
            animator_runner(model, source, frames[:1], 1, winograd=False)
        )
    for precision, batch in rows:
        rewrites = "Winograd, channels-last instance norm" if device.type == "cpu" else "rewrites"
        label = f"Animator (+ {rewrites}), {precision}, batch {batch}"
        runners[label] = animator_runner(model, source, frames[:1], batch, precision)
    fps = interleaved_fps(runners, frames, unit=max(batch for _, batch in rows))
    for label, value in fps.items():
        table.add_row(label, f"{value:.3f}", f"{value / fps[naive]:.2f}x")
    console.print(table)


def smoothing_table(device: torch.device, console: Console, frames: int = 200) -> None:
    """The One-Euro filter of ``--smooth auto`` alone, per frame, on keypoints shaped like
    FOMM's (10 with Jacobians) and TPSMM's (50 points), against the bundled model's time
    per frame (the difference of two whole runs drowns in the machine's noise)."""
    model = load_checkpoint(resolve_checkpoint(None)[0]).model
    size = model.config.frame_shape[0]
    _, stream = next(synthetic.heldout_videos(1, 16, size=size))
    clip = frames_to_tensor(np.stack(list(stream))).to(device)
    session = Animator(model, device=device, channels_last=True).session(clip[0])
    session.animate_batch(clip[:1])  # warm-up
    synchronize(device)
    start = time.perf_counter()
    for frame in clip.split(1):
        session.animate_batch(frame)
    synchronize(device)
    model_ms = (time.perf_counter() - start) / len(clip) * 1000
    table = Table(title=f"smoothing cost per frame, {device}")
    table.add_column("path")
    table.add_column("ms/frame", justify="right")
    table.add_column("share of the model's time", justify="right")
    table.add_row(f"bundled model ({size}x{size}), batch 1", f"{model_ms:.2f}", "")
    for label, count, jacobians in (("FOMM: 10 keypoints + Jacobians", 10, True),
                                    ("TPSMM: 50 keypoints", 50, False)):  # fmt: skip
        value = torch.rand(frames, count, 2, device=device)
        jacobian = torch.rand(frames, count, 2, 2, device=device) if jacobians else None
        smoother = KeypointSmoother(OneEuroSettings(), rate=25.0)
        synchronize(device)
        start = time.perf_counter()
        for row in range(frames):
            extras = {} if jacobian is None else {"jacobian": jacobian[row : row + 1]}
            smoother(Keypoints(value[row : row + 1], extras))
        synchronize(device)
        ms = (time.perf_counter() - start) / frames * 1000
        table.add_row(f"--smooth auto filter, {label}", f"{ms:.3f}", f"{ms / model_ms:.2%}")
    console.print(table)


def group_table(device: torch.device, console: Console, frames: int = 12) -> None:
    """Driving frames per second for 1, 2 and 4 faces of one photo: a group session
    (one generator batch of F rows per frame) against F separate sessions."""
    model = load_checkpoint(resolve_checkpoint(None)[0]).model
    size = model.config.frame_shape[0]
    videos = [np.stack(list(v)) for _, v in synthetic.heldout_videos(4, frames + 1, size=size)]
    sources = frames_to_tensor(np.stack([v[0] for v in videos])).to(device)
    clip = frames_to_tensor(videos[0][1:]).to(device)
    animator = Animator(model, device=device, channels_last=True)
    runners: dict[str, Runner] = {}
    for count in (1, 2, 4):
        group = animator.group_session(sources[:count], initials=[None] * count)
        alone = [animator.session(sources[i], initial=clip[:1]) for i in range(count)]
        group.animate_batch(clip[:1])  # sets every face's initial frame; warm-up

        def together(chunk: torch.Tensor, group: GroupSession = group) -> None:
            group.animate_batch(chunk)

        def apart(chunk: torch.Tensor, alone: list[AnimationSession] = alone) -> None:
            for session in alone:
                session.animate_batch(chunk)

        runners[f"{count} face(s), --faces all (one batch of {count} per frame)"] = together
        runners[f"{count} face(s), {count} separate session(s)"] = apart
    fps = interleaved_fps(runners, clip, unit=1)
    table = Table(title=f"group photos, bundled model ({size}x{size}), {device}")
    table.add_column("path")
    table.add_column("driving frames/s", justify="right")
    table.add_column("faces/s", justify="right")
    for label, value in fps.items():
        count = int(label.split()[0])
        table.add_row(label, f"{value:.2f}", f"{value * count:.2f}")
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
                driving = driving_video(Path(tmp), count)
                row = end_to_end(driving, Path(tmp), device_args, checkpoint)
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


def cli_per_frame_table(console: Console, families: list[str]) -> None:
    """The CLI's cost per frame, start-up and model load excluded: (whole job at 24
    frames − whole job at 8) / 16, each family's vox-256 file in the released layout
    (random weights) on 256×256 driving, against the naive loop's seconds per frame on
    the same weights, measured between the jobs (so that a drifting machine speed falls
    on both alike)."""
    table = Table(title="CLI per frame, vox-256, 256x256 (job at 24 frames - at 8, / 16)")
    for column in ("family", "CLI s/frame", "naive loop s/frame", "naive / CLI"):
        table.add_column(column, justify="left" if column == "family" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        videos = {n: driving_video(Path(tmp), n) for n in (8, 24)}
        for family in families:
            checkpoint = random_official_file(family, Path(tmp))
            model = load_checkpoint(checkpoint).model
            source, frames = torch.rand(1, 3, 256, 256), torch.rand(4, 3, 256, 256)
            naive = naive_runner(model, source, frames[:1])
            # Alternated, best of two: the first job also pays for cold file caches.
            seconds = {n: float("inf") for n in videos}
            naive_seconds = float("inf")
            for _ in range(2):
                for n, video in videos.items():
                    row = end_to_end(video, Path(tmp), [], checkpoint)
                    seconds[n] = min(seconds[n], row["seconds"])
                start = time.perf_counter()
                naive(frames)
                naive_seconds = min(naive_seconds, (time.perf_counter() - start) / len(frames))
            del model, naive
            per_frame = (seconds[24] - seconds[8]) / 16
            table.add_row(
                family.upper(),
                f"{per_frame:.3f}",
                f"{naive_seconds:.3f}",
                f"{naive_seconds / per_frame:.2f}x",
            )
    console.print(table)


def profile_table(family: str, frames: int, console: Console) -> None:
    """Where an Animator frame's time goes (torch.profiler, self CPU time by operator
    and input shape, batch 1, the CLI's settings)."""
    from torch.profiler import ProfilerActivity, profile

    record = family_named(family)
    model = record.build(record.official_config(BENCH_CONFIG), ()).eval()
    clip = torch.rand(frames + 1, 3, 256, 256)
    session = Animator(model, channels_last=True).session(clip[0], initial=clip[:1])
    for _ in range(2):  # warm-up: kernels made on a layer's first or second input, scratch
        session.animate_batch(clip[:1])
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        for frame in clip[1:].split(1):
            session.animate_batch(frame)
    events = profiler.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)
    table = Table(title=f"where a {family.upper()} vox-256 frame goes (Animator, batch 1)")
    for column in ("operator", "input shapes", "ms/frame", "share"):
        table.add_column(column, justify="right" if column in ("ms/frame", "share") else "left")
    for event in sorted(events, key=lambda e: -e.self_cpu_time_total)[:15]:
        shapes = ", ".join(str(list(s)) for s in event.input_shapes[:2] if s)
        ms = event.self_cpu_time_total / 1000 / frames
        table.add_row(event.key, shapes, f"{ms:.1f}", f"{event.self_cpu_time_total / total:.1%}")
    table.add_row("all", "", f"{total / 1000 / frames:.1f}", "100%")
    console.print(table)


def animate_command(output: Path, *extra: str) -> list[str]:
    """``animate`` on the bundled example (125 frames, bundled model), quietly."""
    return [
        sys.executable, "-m", "animatecli", str(ROOT / "examples" / "source.png"),
        str(ROOT / "examples" / "driving.mp4"), "-o", str(output), "-y", "-q", *extra,
    ]  # fmt: skip


def wall_seconds(commands: list[list[str]], *, together: bool, env: dict[str, str]) -> float:
    """Wall seconds to run ``commands`` one after another, or all at once."""
    start = time.perf_counter()
    if together:
        processes = [subprocess.Popen(c, env=env) for c in commands]
        if any(p.wait() for p in processes):
            raise RuntimeError("a concurrent animate run failed")
    else:
        for command in commands:
            subprocess.run(command, env=env, check=True)
    return time.perf_counter() - start


def concurrency_table(console: Console) -> None:
    """k ``animate`` runs started together vs the same runs one after another (total
    throughput = sequential wall / concurrent wall; 1.0 means no loss), with the default
    threads (each process takes its share), the same with idle OpenMP threads sleeping at
    once, and with every process on all CPUs (as before)."""
    import os

    cpus = len(os.sched_getaffinity(0))
    table = Table(title=f"concurrent animate runs on {cpus} CPUs (bundled example, 125 frames)")
    for column in ("runs", "threads", "one after another s", "together s", "throughput"):
        table.add_column(column, justify="right")
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    variants = {
        "shared (default)": ((), base),
        # Idle OpenMP threads sleep at once: kinder to other processes, but it cost a
        # single run about 30% here (thread wake-ups), so it is not the default.
        "shared, OMP_WAIT_POLICY=PASSIVE": ((), {**base, "OMP_WAIT_POLICY": "PASSIVE"}),
        f"--threads {cpus} each": (("--threads", str(cpus)), base),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for runs in (2, 3):
            for label, (extra, env) in variants.items():
                commands = [animate_command(Path(tmp) / f"o{i}.mp4", *extra) for i in range(runs)]
                alone = wall_seconds(commands, together=False, env=env)
                together = wall_seconds(commands, together=True, env=env)
                table.add_row(
                    str(runs), label, f"{alone:.1f}", f"{together:.1f}", f"{alone / together:.2f}"
                )
    console.print(table)


def jobs_table(console: Console) -> None:
    """``animate batch --jobs N`` on 2 sources × 2 driving videos (bundled model)."""
    import shutil

    table = Table(title="animate batch, 4 pairs (bundled model, 125 frames each)")
    for column in ("--jobs", "wall s", "vs --jobs 1"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for name in ("a", "b"):
            shutil.copy(ROOT / "examples" / "source.png", folder / f"{name}.png")
            shutil.copy(ROOT / "examples" / "driving.mp4", folder / f"{name}.mp4")
        seconds = {}
        for jobs in (1, 2):
            command = [
                sys.executable, "-m", "animatecli", "batch", str(folder), "-o",
                str(Path(tmp) / f"out{jobs}"), "-q", "--jobs", str(jobs),
            ]  # fmt: skip
            start = time.perf_counter()
            subprocess.run(command, check=True)
            seconds[jobs] = time.perf_counter() - start
            table.add_row(str(jobs), f"{seconds[jobs]:.1f}", f"{seconds[1] / seconds[jobs]:.2f}x")
    console.print(table)


# Driving sizes of the memory rows per family: FOMM's at 256×256 and 1280×720 (decoding
# full HD-ish frames must not show), TPSMM's at 256×256 (its frames take 2-3× longer).
MEMORY_SIZES = {"fomm": ((256, 256), (1280, 720)), "tpsmm": ((256, 256),)}


def memory_table(counts: list[int], console: Console, families: list[str]) -> None:
    """Peak RSS of the whole job, each family's vox-256 file in the official layout
    (random weights), by driving length and size: flat in the video's length (frames
    stream through), one copy of the weights (loaded into unfilled networks)."""
    table = Table(title="peak RSS of the whole job, vox-256 files (random weights)")
    for column in ("model", "driving", "frames", "peak RSS MiB", "whole job frames/s"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            folder = Path(tmp) / family
            folder.mkdir()
            checkpoint = random_official_file(family, folder)
            for width, height in MEMORY_SIZES.get(family, ((256, 256),)):
                for count in counts:
                    driving = driving_video(Path(tmp), count, width, height)
                    row = end_to_end(driving, Path(tmp), [], checkpoint)
                    table.add_row(
                        family.upper(),
                        f"{width}x{height}",
                        str(count),
                        f"{row['rss']:.0f}",
                        f"{row['fps']:.2f}",
                    )
            checkpoint.unlink()
    console.print(table)


def panning_face_video(path: Path, width: int, height: int, seconds: float) -> Path:
    """A 30-fps H.264 video of skimage's astronaut (face 1/3 of the height) crossing a
    textured frame, with an AAC tone."""
    import cv2
    from skimage import data

    frames = round(30 * seconds)
    rng = np.random.default_rng(0)
    canvas = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    # Her head and shoulders; the face spans rows 62..168 of the photo (106 px).
    head = data.astronaut()[0:330, 60:400]
    scale = height / 3 / 106
    head = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    hh, hw = head.shape[:2]
    hh = min(hh, height)
    cmd = [
        sys.executable, "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"
    ]  # fmt: skip
    ffmpeg = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    encoder = subprocess.Popen(
        [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-framerate", "30", "-i", "-",
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", f"{seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         str(path)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encoder.stdin is not None
    for i in range(frames):
        x = round((width - hw) * i / max(1, frames - 1))
        frame = canvas.copy()
        frame[:hh, x : x + hw] = head[:hh]
        encoder.stdin.write(frame.tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise RuntimeError("encoding the crop benchmark video failed")
    return path


def crop_table(seconds: float, console: Console) -> None:
    """``animate crop`` wall seconds per second of video, per resolution and backend."""
    from animatecli.crop import CropOptions, crop_video
    from animatecli.faces import backend_statuses

    backends = [s.name for s in backend_statuses() if s.usable]
    table = Table(title=f"animate crop, {seconds:g} s at 30 fps, face panning (1/3 of height)")
    columns = ("video", "backend", "s per video s", "scan", "write", "clips", "examined frames")
    for column in columns:
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in ((640, 360), (1280, 720), (1920, 1080)):
            video = panning_face_video(Path(tmp) / f"pan{height}.mp4", width, height, seconds)
            for backend in backends:
                options = CropOptions(detector=backend, overwrite=True)
                start = time.perf_counter()
                try:
                    result = crop_video(video, Path(tmp) / f"out{height}{backend}", options)
                    clips, examined = str(len(result.clips)), str(result.frames_detected)
                    # The write stage decodes the clips' frames a second time (ffmpeg).
                    stages = [f"{result.stage_seconds[k] / seconds:.2f}" for k in ("scan", "write")]
                except Exception as exc:  # a backend finding nothing is a row, not a crash
                    clips, examined, stages = f"error: {exc}"[:40], "-", ["-", "-"]
                per_second = (time.perf_counter() - start) / seconds
                table.add_row(
                    f"{width}x{height}", backend, f"{per_second:.2f}", *stages, clips, examined
                )
    console.print(table)


def recall_table(console: Console) -> None:
    """What dlib's downscaled detection costs: faces found by size, 1280×720 frames, at the
    detection scales ``crop`` uses (default ``--min-face``: 1/8 of the short side) and at
    full size, each face placed at 12 positions; with the milliseconds per frame."""
    import cv2
    from skimage import data

    from animatecli.faces import DlibBackend, default_min_face

    head = data.astronaut()[0:330, 60:400]
    rng = np.random.default_rng(1)
    canvas = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    setups = {
        "640x360 copy": DlibBackend(),
        "crop default (min-face 90)": DlibBackend(min_face=default_min_face(1280, 720)),
        "full size (min-face 80)": DlibBackend(min_face=80),
        "min-face 60": DlibBackend(min_face=60),
    }
    sizes = (50, 70, 90, 110, 150, 220)
    table = Table(title="dlib recall by face height (forehead to chin), 1280x720")
    table.add_column("detection copy")
    for size in sizes:
        table.add_column(f"{size} px", justify="right")
    table.add_column("ms/frame", justify="right")
    for label, detector in setups.items():
        found, seconds, runs = [], 0.0, 0
        for size in sizes:
            scale = size / 106
            small = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            hits = 0
            for k in range(12):
                frame = canvas.copy()
                y, x = 40 + (k % 3) * 150, 40 + (k // 3) * 250
                hh, ww = min(small.shape[0], 720 - y), min(small.shape[1], 1280 - x)
                frame[y : y + hh, x : x + ww] = small[:hh, :ww]
                start = time.perf_counter()
                hits += bool(detector.detect(frame))
                seconds += time.perf_counter() - start
                runs += 1
            found.append(f"{hits}/12")
        table.add_row(label, *found, f"{1000 * seconds / runs:.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
