"""The ``animate`` command line: parse options, call the pipeline, render results.

``animate SOURCE DRIVING [-o OUT]`` is the default command (``animate run``); the other
subcommands are ``crop``, ``batch``, ``doctor`` and ``eval``. A file literally named
like a subcommand is animated with ``animate run crop driving.mp4`` or
``animate -- crop driving.mp4``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from . import __version__
from .engine import MotionMode
from .errors import AnimateError, ExitCode
from .interrupts import recording_interrupts
from .options import AnimateOptions, ModelOptions
from .reporting import QuietReporter, RichReporter, stderr_console
from .serve import ServeSettings

DEFAULT_COMMAND = "run"


class DefaultCommandGroup(TyperGroup):
    """Routes ``animate SOURCE DRIVING`` to the ``run`` subcommand."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] == "--":
            args = [DEFAULT_COMMAND, *args[1:]]
        elif args and not args[0].startswith("-") and args[0] not in self.commands:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


HELP = """Animate a still image with the motion of a driving video (First Order Motion Model).

[bold]Usage:[/]

  animate SOURCE DRIVING [-o OUT] [OPTIONS]   animate a photo (same as [bold]animate run[/])

  animate crop VIDEO [-o DIR]                 cut face clips out of a video

  animate batch FOLDER [-o DIR]               animate every image x video pair in a folder

  animate doctor                              check torch, CUDA, ffmpeg and the model

  animate serve [--port 7860]                 a local web page (pip install 'animatecli\\[web]')

Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 3 no face found,
4 some batch pairs failed, 130 interrupted.
"""

app = typer.Typer(
    cls=DefaultCommandGroup,
    help=HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"animatecli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Animate a still image with the motion of a driving video."""


def fail(message: str, code: int) -> typer.Exit:
    # Escaped: a message is plain text, and "[web]" in one must not be read as markup.
    stderr_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and a documented exit code."""
    try:
        with recording_interrupts():
            yield
    except AnimateError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", ExitCode.INTERRUPTED) from None


def make_reporter(quiet: bool, json_output: bool) -> RichReporter:
    if quiet:
        return QuietReporter()
    return RichReporter(show_progress=not json_output)


def emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, default=str))


# Options shared by run and batch ------------------------------------------------------

ModeOpt = Annotated[
    MotionMode, typer.Option("--mode", help="relative: transfer motion; absolute: copy poses.")
]
AdaptOpt = Annotated[
    bool,
    typer.Option(
        "--adapt-scale/--no-adapt-scale",
        help="Scale the motion by the ratio of source and driving face sizes.",
    ),
]
AlignOpt = Annotated[
    str,
    typer.Option(
        "--align",
        help="Driving frame matched to the source pose: best (searched), first, or an index.",
    ),
]
FitOpt = Annotated[
    str, typer.Option("--fit", help="Non-square frames: crop (centre), pad or stretch.")
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Fp16Opt = Annotated[bool, typer.Option("--fp16", help="Half-precision autocast (CUDA only).")]
BatchOpt = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help="Frames per model call \\[default: 1 CPU, 8 CUDA]."),
]
CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Official FOMM .pth.tar or animatecli checkpoint [env: ANIMATE_CHECKPOINT; "
        "default: the bundled model].",
    ),
]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Official config name, e.g. vox-256.")
]
CrfOpt = Annotated[int, typer.Option("--crf", min=0, max=51, help="x264 quality (lower=better).")]
PresetOpt = Annotated[str, typer.Option("--preset", help="x264 preset.")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", "-y", help="Replace an existing output.")
]
CropSourceOpt = Annotated[
    str, typer.Option("--crop-source", help="auto: crop the face out of a larger photo; off.")
]
PasteBackOpt = Annotated[
    bool,
    typer.Option("--paste-back", help="Composite the animated face into the full-size photo."),
]
CompareOpt = Annotated[
    bool, typer.Option("--compare", help="Output source | driving | result side by side.")
]
DetectorOpt = Annotated[
    str, typer.Option("--detector", help="Face detector: auto, face-alignment or opencv.")
]
AlignCornersOpt = Annotated[
    bool | None,
    typer.Option(
        "--align-corners/--no-align-corners",
        help="Warp convention: True is the PyTorch 1.0 semantics the official models were "
        "trained under. Default: the checkpoint's own (False for official files).",
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Print details.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"must be one of {', '.join(allowed)}", param_hint=option)
    return value


def build_options(
    *,
    mode: MotionMode,
    adapt_scale: bool,
    align: str,
    fit: str,
    batch_size: int | None,
    crf: int,
    preset: str,
    overwrite: bool,
    crop_source: str,
    paste_back: bool,
    compare: bool,
    detector: str,
) -> AnimateOptions:
    if align not in ("best", "first") and not align.isdigit():
        raise typer.BadParameter("must be best, first or a frame index", param_hint="--align")
    if paste_back and compare:
        raise typer.BadParameter("cannot be combined with --compare", param_hint="--paste-back")
    return AnimateOptions(
        mode=mode,
        adapt_scale=adapt_scale,
        align=align,
        fit=_choice(fit, ("crop", "pad", "stretch"), "--fit"),  # type: ignore[arg-type]
        batch_size=batch_size,
        crf=crf,
        preset=preset,
        overwrite=overwrite,
        crop_source=_choice(crop_source, ("auto", "off"), "--crop-source"),  # type: ignore[arg-type]
        paste_back=paste_back,
        compare=compare,
        detector=_choice(detector, ("auto", "face-alignment", "opencv", "lbp"), "--detector"),  # type: ignore[arg-type]
    )


def default_output(source: Path, driving: Path) -> str:
    return f"{source.stem}__{driving.stem}.mp4"


@app.command("run")
def run_command(
    source: Annotated[Path, typer.Argument(help="Source image (PNG, JPEG, WebP, BMP, ...).")],
    driving: Annotated[Path, typer.Argument(help="Driving video.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output: .mp4/.mov/.mkv/.webm, .gif, or a directory/ of PNG frames "
            "\\[default: SOURCE__DRIVING.mp4].",
        ),
    ] = None,
    mode: ModeOpt = MotionMode.RELATIVE,
    adapt_scale: AdaptOpt = True,
    align: AlignOpt = "best",
    fit: FitOpt = "crop",
    device: DeviceOpt = "auto",
    fp16: Fp16Opt = False,
    batch_size: BatchOpt = None,
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    crf: CrfOpt = 18,
    preset: PresetOpt = "medium",
    overwrite: OverwriteOpt = False,
    crop_source: CropSourceOpt = "auto",
    paste_back: PasteBackOpt = False,
    compare: CompareOpt = False,
    detector: DetectorOpt = "auto",
    align_corners: AlignCornersOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Animate SOURCE with the motion of DRIVING (the default command)."""
    from .pipeline import AnimationPipeline

    options = build_options(
        mode=mode,
        adapt_scale=adapt_scale,
        align=align,
        fit=fit,
        batch_size=batch_size,
        crf=crf,
        preset=preset,
        overwrite=overwrite,
        crop_source=crop_source,
        paste_back=paste_back,
        compare=compare,
        detector=detector,
    )
    model_options = ModelOptions(
        checkpoint=checkpoint, config=config, device=device, fp16=fp16, align_corners=align_corners
    )
    target = output or default_output(source, driving)
    reporter = make_reporter(quiet, json_output)
    with user_errors():
        pipeline = AnimationPipeline(model_options, reporter)
        if verbose:
            described = pipeline.describe_checkpoint()
            stderr_console.print(
                f"model: {described['path']} ({described['origin']}, "
                f"{described['config_name'] or 'custom config'}, {described['config_source']}); "
                f"device: {pipeline.device}",
                highlight=False,
            )
        result = pipeline.run(source, driving, target, options)
    if json_output:
        emit_json(result.to_dict())
    elif not quiet:
        stderr_console.print(
            f"[green]wrote[/] {result.output} ({result.frames} frames at "
            f"{float(result.fps):.3f} fps, {result.size[0]}x{result.size[1]}, "
            f"{'with' if result.audio_kept else 'without'} audio; aligned on frame "
            f"{result.alignment.index} by {result.alignment.method}; "
            f"{result.frames / result.seconds:.2f} frames/s)",
            highlight=False,
        )


@app.command("crop")
def crop_command(
    video: Annotated[Path, typer.Argument(help="Video to cut face clips out of.")],
    outdir: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output folder \\[default: ./VIDEO_faces/]."),
    ] = None,
    detector: DetectorOpt = "auto",
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            min=1,
            help="Detect faces on every Nth frame \\[default: 5 per second, every 5th at 25 fps].",
        ),
    ] = None,
    min_seconds: Annotated[
        float, typer.Option("--min-seconds", min=0.0, help="Shortest face tube kept as a clip.")
    ] = 1.0,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            help="Best detection score a tube needs \\[default: 8 windows for opencv/LBP, "
            "none for face-alignment].",
        ),
    ] = None,
    increase: Annotated[
        float, typer.Option("--increase", min=0.0, help="Margin around the face, each side.")
    ] = 0.1,
    size: Annotated[int, typer.Option("--size", help="Side of the square clips, px.")] = 256,
    device: DeviceOpt = "auto",
    crf: CrfOpt = 18,
    preset: PresetOpt = "medium",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace existing clip files.")
    ] = False,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Cut square face clips (with their audio) out of VIDEO, one per face tube."""
    from .crop import CropOptions, crop_video, resolve_detector_device

    detector = _choice(detector, ("auto", "face-alignment", "opencv", "lbp"), "--detector")
    reporter = make_reporter(quiet, json_output)
    with user_errors():
        options = CropOptions(
            every=every,
            min_seconds=min_seconds,
            increase=increase,
            size=size,
            min_score=min_score,
            detector=detector,
            device=resolve_detector_device(detector, device),
            overwrite=overwrite,
            crf=crf,
            preset=preset,
        )
        result = crop_video(video, outdir, options, reporter)
    if json_output:
        emit_json(result.to_dict())
    elif not quiet:
        for clip in result.clips:
            stderr_console.print(
                f"[green]wrote[/] {clip.path} (frames {clip.start_frame}-{clip.end_frame}, "
                f"{clip.frames / float(result.fps):.2f} s, box {','.join(map(str, clip.box))})",
                highlight=False,
            )
        stderr_console.print(
            f"{len(result.clips)} clip(s) from {result.tubes} face tube(s); "
            f"{result.frames_detected} of {result.frames_scanned} frames examined with the "
            f"{result.detector} detector in {result.seconds:.1f} s",
            highlight=False,
        )


@app.command("batch")
def batch_command(
    folder: Annotated[Path, typer.Argument(help="Folder of source images and driving videos.")],
    outdir: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output folder \\[default: FOLDER/animated/]."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs", help="CSV or JSON of source,driving[,output] instead of all pairs."
        ),
    ] = None,
    shard: Annotated[
        str | None, typer.Option("--shard", help="I/N: process only share I of N (0-based).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report of every pair.")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first error.")
    ] = False,
    mode: ModeOpt = MotionMode.RELATIVE,
    adapt_scale: AdaptOpt = True,
    align: AlignOpt = "best",
    fit: FitOpt = "crop",
    device: DeviceOpt = "auto",
    fp16: Fp16Opt = False,
    batch_size: BatchOpt = None,
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    crf: CrfOpt = 18,
    preset: PresetOpt = "medium",
    overwrite: OverwriteOpt = False,
    crop_source: CropSourceOpt = "auto",
    paste_back: PasteBackOpt = False,
    compare: CompareOpt = False,
    detector: DetectorOpt = "auto",
    align_corners: AlignCornersOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Animate every image x video pair in FOLDER (resumable; see README for sharding)."""
    from rich.table import Table

    from . import batch
    from .pipeline import AnimationPipeline
    from .reporting import BatchDisplay

    options = build_options(
        mode=mode,
        adapt_scale=adapt_scale,
        align=align,
        fit=fit,
        batch_size=batch_size,
        crf=crf,
        preset=preset,
        overwrite=overwrite,
        crop_source=crop_source,
        paste_back=paste_back,
        compare=compare,
        detector=detector,
    )
    model_options = ModelOptions(
        checkpoint=checkpoint, config=config, device=device, fp16=fp16, align_corners=align_corners
    )
    target = outdir or folder / "animated"
    with user_errors():
        if pairs is not None:
            jobs = batch.read_pairs_file(pairs, pairs.parent, target)
        else:
            jobs = batch.folder_pairs(folder, target)
        selected = [p for p in jobs if batch.in_shard(p, batch.parse_shard(shard))]
        target.mkdir(parents=True, exist_ok=True)
        display = BatchDisplay(show_progress=not json_output, quiet=quiet)
        try:
            pipeline = AnimationPipeline(model_options, display)

            def animate(pair: batch.Pair, job_options: AnimateOptions) -> int:
                pair.output.parent.mkdir(parents=True, exist_ok=True)
                return pipeline.run(pair.source, pair.driving, pair.output, job_options).frames

            results = batch.run_batch(
                selected, options, animate, fail_fast=fail_fast, progress=display
            )
        finally:
            display.close()
    if report is not None:
        batch.write_report(report, results)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "failed")}
    if json_output:
        emit_json({"pairs": [vars(r) for r in results], "summary": counts})
    elif not quiet:
        table = Table(title=f"batch: {len(selected)} of {len(jobs)} pairs in this shard")
        for column in ("source", "driving", "status", "seconds", "error"):
            table.add_column(column)
        for r in results:
            style = {"ok": "green", "skipped": "dim", "failed": "red"}[r.status]
            table.add_row(
                Path(r.source).name,
                Path(r.driving).name,
                f"[{style}]{r.status}",
                f"{r.seconds:.1f}",
                r.error or "",
            )
        stderr_console.print(table)
        stderr_console.print(
            f"{counts['ok']} done, {counts['skipped']} skipped, {counts['failed']} failed",
            highlight=False,
        )
    code = batch.exit_code(results)
    if code:
        raise typer.Exit(code)


@app.command("doctor")
def doctor_command(
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Check torch, CUDA, ffmpeg, the model that would be used and face-alignment weights."""
    from .doctor import collect, render

    with user_errors():
        report = collect(checkpoint, config)
    if json_output:
        emit_json(report)
    else:
        render(report, Console())


@app.command("eval")
def eval_command(
    checkpoint: CheckpointOpt = None,
    videos: Annotated[int, typer.Option(min=1, help="Held-out videos.")] = 8,
    frames: Annotated[int, typer.Option(min=2, help="Frames per video.")] = 100,
    json_output: JsonOpt = False,
) -> None:
    """Reconstruction scores on held-out synthetic videos (FOMM's protocol)."""
    from rich.table import Table

    from .models import resolve_checkpoint
    from .training.evaluate import evaluate_reconstruction

    with user_errors():
        from .engine import load_checkpoint

        path, _ = resolve_checkpoint(checkpoint)
        loaded = load_checkpoint(path)
        scores = evaluate_reconstruction(loaded.model, videos=videos, frames=frames)
    if json_output:
        emit_json({"checkpoint": str(path), **scores.to_dict()})
        return
    table = Table(title=f"reconstruction on {videos} held-out videos x {frames} frames")
    for column in ("model L1", "copy-source L1", "ratio", "AKD (px)"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{scores.l1:.4f}",
        f"{scores.copy_source_l1:.4f}",
        f"{scores.ratio:.3f}",
        f"{scores.akd_pixels:.2f}",
    )
    Console().print(table)


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (a non-loopback one warns).")
    ] = ServeSettings.host,
    port: Annotated[
        int, typer.Option("--port", help="Port (0: any free port).")
    ] = ServeSettings.port,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Largest upload per job (photo + video).")
    ] = ServeSettings.max_upload_mb,
    max_video_seconds: Annotated[
        float, typer.Option("--max-video-seconds", help="Longest video accepted.")
    ] = ServeSettings.max_video_seconds,
    checkpoint: CheckpointOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Serve a local web page that animates photos and cuts face clips (Ctrl-C stops)."""
    from .serve import serve

    settings = ServeSettings(
        host=host,
        port=port,
        max_upload_mb=max_upload_mb,
        max_video_seconds=max_video_seconds,
        checkpoint=checkpoint,
        device=device,
    )
    with user_errors():
        serve(settings)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="animate")


if __name__ == "__main__":
    sys.exit(main())
