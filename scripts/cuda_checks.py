"""The GPU checks of `make cuda-check` in one prepared run: pixels, speed, codecs.

1. Pixels: the same ``animate`` job (bundled model, the examples, PNG output, defaults)
   on the device against the CPU, in fp32, in fp16 (keypoints and motion in fp32) and in
   fp16 with ``--cuda-graphs``, with the limits of ``tests/cli/test_cuda.py``.
2. Model only: frames/s of the FOMM and TPSMM vox-256 architectures (256×256, random
   weights) at batch 16 in fp32 and fp16, the Animator as the CLI runs it, and with the
   generate step replayed from a CUDA graph (`engine.GraphedSession`).
3. Codecs: the NVENC and NVDEC probes, and NVDEC's frames against software decoding.
4. Whole job: a generated 600-frame driving video (256×256, and padded to 1280×720)
   through `runtime.job.AnimationJob` with a random vox-256 FOMM checkpoint (official layout),
   model load and best-frame pass included, with ``--encoder auto`` and ``x264``, with
   NVDEC on and off, and with ``--cuda-graphs``; after one unreported warm-up job.

    python scripts/cuda_checks.py                       # on a GPU (a few minutes)
    python scripts/cuda_checks.py --device cpu --quick  # anywhere: proves it runs

``--quick`` shrinks every size (batch 1 or 2, 12-frame videos, the bundled model for the
pixels and whole jobs) so that a CPU gets through it in about a minute; its numbers mean
nothing. One table is printed;
where ``$OUT`` is set it is also written there with a JSON copy (cuda_checks.txt/.json).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from animatecli import media
from animatecli.atomic import atomic_write_text
from animatecli.engine import FAMILIES, Animator, GraphedSession, MotionModel
from animatecli.media import CodecChoice, VideoReader
from animatecli.options import AnimateOptions, EncoderName, ModelOptions
from animatecli.runtime.job import AnimationJob
from animatecli.runtime.results import AnimateResult
from animatecli.runtime.runtime import Runtime

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (  # the bench's helpers, beside this script
    BENCH_CONFIG,
    Runner,
    animator_runner,
    driving_video,
    interleaved_fps,
    random_official_file,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE, DRIVING = ROOT / "examples" / "source.png", ROOT / "examples" / "driving.mp4"
# Pixel limits of tests/cli/test_cuda.py: (mean, max) absolute difference in 8-bit levels.
PIXEL_LIMITS = {"fp32": (0.05, 1), "fp16": (0.2, 8)}
MODEL_TARGET_FPS = 1000  # issue 18: vox-256, fp16, batch 16, one H100/H200
JOB_TARGET_FPS = 300  # issue 18: whole job on a 600-frame video, fp16


@dataclass
class Row:
    """One line of the table (and of the JSON)."""

    check: str
    setting: str
    result: str
    target: str = ""
    ok: bool | None = None  # None: informative only
    numbers: dict[str, float | int | str] | None = None


def png_frames(folder: Path) -> np.ndarray:
    images = [media.load_image(p) for p in sorted(folder.glob("*.png"))]
    return np.stack(images).astype(np.int16)


def pixel_rows(device: str, work: Path, driving: Path) -> list[Row]:
    """The same job on ``device`` and on the CPU, frame by frame (PNG, lossless)."""
    options = AnimateOptions(overwrite=True)

    def frames(where: str, fp16: bool, graphs: bool = False) -> tuple[np.ndarray, int]:
        out = work / f"pixels-{where}-{fp16}-{graphs}"
        runtime = Runtime(ModelOptions(device=where, fp16=fp16, cuda_graphs=graphs))
        result = AnimationJob(runtime, options).run(SOURCE, driving, f"{out}/")
        return png_frames(out), result.alignment.index

    reference, reference_align = frames("cpu", False)
    rows = []
    for precision, graphs in (("fp32", False), ("fp16", False), ("fp16", True)):
        label = f"{precision}{' + CUDA graphs' if graphs else ''}"
        setting = f"bundled model, {driving.name}, {device} vs cpu, {label}"
        if (precision == "fp16" or graphs) and not device.startswith("cuda"):
            rows.append(Row("pixels", setting, f"skipped: {label} needs CUDA"))
            continue
        got, align = frames(device, precision == "fp16", graphs)
        diff = np.abs(got - reference)
        mean_limit, max_limit = PIXEL_LIMITS[precision]
        ok = diff.mean() < mean_limit and diff.max() <= max_limit and align == reference_align
        rows.append(
            Row(
                "pixels",
                setting,
                f"mean {diff.mean():.4f}, max {diff.max()}, aligned on {align} "
                f"(cpu {reference_align})",
                f"mean < {mean_limit}, max <= {max_limit}, same frame",
                bool(ok),
                {"mean": float(diff.mean()), "max": int(diff.max()), "frames": len(got)},
            )
        )
    return rows


def graphed_runner(
    model: MotionModel, source: torch.Tensor, initial: torch.Tensor, batch: int, precision: str
) -> tuple[Runner, GraphedSession]:
    """`bench.animator_runner` with the generate step replayed from a CUDA graph."""
    animator = Animator(
        copy.deepcopy(model), device=source.device, precision=precision, channels_last=True
    )
    graphed = GraphedSession(animator.session(source[0], initial=initial), batch)
    for _ in range(2):  # the first call captures
        graphed.animate_batch(initial.expand(batch, -1, -1, -1))

    def run(frames: torch.Tensor) -> None:
        for chunk in frames.split(batch):
            graphed.animate_batch(chunk)

    return run, graphed


def model_rows(device: torch.device, batch: int, frames: int) -> list[Row]:
    """Engine-only frames/s per family and precision (and, on CUDA, with the generate step
    from a CUDA graph), taking turns (`bench.interleaved_fps`)."""
    rows = []
    on_gpu = device.type == "cuda"
    precisions = ("fp32", "fp16") if on_gpu else ("fp32",)
    for family in FAMILIES:
        model = family.build(family.official_config(BENCH_CONFIG), ()).eval()
        source = torch.rand(1, 3, 256, 256, device=device)
        clip = torch.rand(frames, 3, 256, 256, device=device)
        runners = {p: animator_runner(model, source, clip[:1], batch, p) for p in precisions}
        graphs: dict[str, GraphedSession] = {}
        for precision in precisions if on_gpu else ():
            label = f"{precision} + CUDA graph"
            runners[label], graphs[label] = graphed_runner(
                model, source, clip[:1], batch, precision
            )
        fps = interleaved_fps(runners, clip, batch)
        for label, value in fps.items():
            fast = label.startswith("fp16") and batch == 16
            graph = f" ({graphs[label].reason})" if label in graphs else ""
            rows.append(
                Row(
                    "model only",
                    f"{family.name.upper()} {BENCH_CONFIG}, 256x256, batch {batch}, {label}",
                    f"{value:.1f} frames/s{graph}",
                    f">= {MODEL_TARGET_FPS}" if fast else "",
                    value >= MODEL_TARGET_FPS if fast and on_gpu else None,
                    {"fps": value},
                )
            )
    return rows


def codec_rows(device: str, videos: list[Path]) -> list[Row]:
    """The probes, and NVDEC's frames against software decoding where NVDEC works."""
    nvenc, nvdec = media.probe_nvenc(0), media.probe_nvdec(0)
    rows = [
        Row("codecs", "NVENC probe (h264_nvenc, 1 frame)", nvenc.reason or "works"),
        Row("codecs", "NVDEC probe (-hwaccel cuda, 1 frame)", nvdec.reason or "works"),
    ]
    decoder = media.choose_decoder(device)
    for video in videos:
        setting = f"NVDEC vs software frames, {video.name}"
        if not decoder.hardware:
            rows.append(Row("codecs", setting, f"skipped: {decoder.reason}"))
            continue
        counts, worst, differing = [0, 0], 0, 0
        # Both decoders side by side, one frame of each at a time (720p: memory stays flat).
        with VideoReader(video) as plain, VideoReader(video, nvdec_gpu=decoder.gpu) as hw:
            for soft, nvdec in itertools.zip_longest(plain, hw):
                counts[0] += soft is not None
                counts[1] += nvdec is not None
                if soft is not None and nvdec is not None:
                    diff = int(np.abs(soft.astype(np.int16) - nvdec).max())
                    worst, differing = max(worst, diff), differing + (diff > 0)
        rows.append(
            Row(
                "codecs",
                setting,
                f"{counts[1]} frames (software {counts[0]}), max difference {worst}, "
                f"{differing} frames differ",
                "same frame count",
                counts[0] == counts[1],
                {"frames": counts[1], "max": worst, "frames_differing": differing},
            )
        )
    return rows


def job_rows(
    device: str, checkpoint: Path | None, videos: list[Path], batch: int, label: str
) -> list[Row]:
    """Whole jobs (pipeline built, i.e. model loaded, inside the timer) per codec setting."""
    fp16 = device.startswith("cuda")
    model = ModelOptions(checkpoint=checkpoint, device=device, fp16=fp16)

    def job(
        video: Path, encoder: EncoderName, nvdec: bool, out: Path, graphs: bool = False
    ) -> tuple[float, AnimateResult]:
        started = time.perf_counter()
        runtime = Runtime(replace(model, cuda_graphs=graphs))
        if not nvdec:
            runtime.decoder = CodecChoice(None, "software (NVDEC off for this check)")
        options = AnimateOptions(encoder=encoder, batch_size=batch, overwrite=True)
        result = AnimationJob(runtime, options).run(SOURCE, video, out)
        return time.perf_counter() - started, result

    with tempfile.TemporaryDirectory() as tmp:
        job(videos[0], "auto", True, Path(tmp) / "warm-up.mp4")  # CUDA and cuDNN start-up
    settings: list[tuple[Path, EncoderName, bool, bool]] = [
        (videos[0], "auto", True, False),
        (videos[0], "x264", True, False),
        (videos[0], "auto", False, False),
    ]
    settings += [(v, "auto", nvdec, False) for v in videos[1:] for nvdec in (True, False)]
    if fp16:
        settings.append((videos[0], "auto", True, True))
    rows = []
    for video, encoder, nvdec, graphs in settings:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, result = job(video, encoder, nvdec, Path(tmp) / "out.mp4", graphs)
        assert result.encoder is not None and result.decoder is not None
        whole = result.frames / seconds
        target = video == videos[0] and fp16
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result.stage_seconds.items())
        rows.append(
            Row(
                "whole job",
                f"{label}, {video.stem}, --encoder {encoder}, NVDEC {'on' if nvdec else 'off'}, "
                f"{'fp16' if fp16 else 'fp32'}, batch {batch}"
                f"{', --cuda-graphs' if graphs else ''}",
                f"{whole:.1f} frames/s ({seconds:.2f} s: load {seconds - result.seconds:.2f}, "
                f"{stages}); {result.encoder.name}, {result.decoder.name}"
                f"{f'; {result.cuda_graph}' if graphs else ''}",
                f">= {JOB_TARGET_FPS}" if target else "",
                whole >= JOB_TARGET_FPS if target else None,
                {
                    "frames": result.frames,
                    "seconds": seconds,
                    "fps": whole,
                    **{f"stage_{k}": v for k, v in result.stage_seconds.items()},
                    "encoder": result.encoder.name,
                    "decoder": result.decoder.name,
                },
            )
        )
    return rows


def render(rows: list[Row], title: str) -> Table:
    table = Table(title=title)
    for column in ("check", "setting", "result", "target", "ok"):
        table.add_column(column)
    marks = {True: "[green]yes", False: "[red]NO", None: ""}
    for row in rows:
        table.add_row(row.check, row.setting, row.result, row.target, marks[row.ok])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--frames", type=int, help="whole-job video length [600; quick 12]")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = str(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("CUDA is not available here: use --device cpu --quick")
    torch.manual_seed(0)
    started = time.perf_counter()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    title = f"cuda_checks: torch {torch.__version__}, {name} ({where})"
    title += ", --quick (sizes too small to mean anything)" if args.quick else ""
    batch, model_frames = (1, 1) if args.quick else (16, 512)
    job_frames = args.frames or (12 if args.quick else 600)
    console = Console(record=True, width=200)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cuda-checks-") as tmp:
        work = Path(tmp)
        videos = [driving_video(work, job_frames), driving_video(work, job_frames, 1280, 720)]
        rows += codec_rows(name, videos)
        rows += pixel_rows(name, work, videos[0] if args.quick else DRIVING)
        rows += model_rows(device, batch, model_frames)
        if args.quick:
            checkpoint, label = None, "bundled model"
        else:
            checkpoint, label = random_official_file("fomm", work), f"FOMM {BENCH_CONFIG} random"
        rows += job_rows(name, checkpoint, videos, 2 if args.quick else 16, label)
    console.print(render(rows, title))
    console.print(f"{time.perf_counter() - started:.0f} s in all")
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(out) / "cuda_checks.txt", console.export_text())
        report = {"title": title, "rows": [asdict(row) for row in rows]}
        atomic_write_text(Path(out) / "cuda_checks.json", json.dumps(report, indent=1))
    if any(row.ok is False for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
