"""The ``animate`` command line: parse options, call the pipeline, render results.

``animate SOURCE DRIVING [-o OUT]`` is the default command (``animate run``); the other
subcommands are ``crop``, ``batch``, ``doctor`` and ``eval``. A file literally named
like a subcommand is animated with ``animate run crop driving.mp4`` or
``animate -- crop driving.mp4``.

Start-up stays fast: this module imports neither torch nor the model stack. Every option
is parsed and validated, and help is printed, before a command imports what it runs.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer
from rich.markup import escape
from typer.core import TyperGroup

from . import __version__
from .errors import AnimateError, ExitCode
from .interrupts import Terminated, recording_interrupts, terminate_like_interrupt
from .options import (
    BATCH_SIZE_RANGE,
    CRF_RANGE,
    DEFAULT_CRF,
    DEFAULT_PRESET,
    THREADS_RANGE,
    AnimateOptions,
    CropDrivingMode,
    CropSourceMode,
    DetectorKind,
    EncoderName,
    FitMode,
    ModelOptions,
    MotionModeName,
    X264Preset,
)
from .paths import check_input_file, check_output_path, output_name
from .reporting import QuietReporter, RichReporter, stderr_console
from .serve import ServeSettings

DEFAULT_COMMAND = "run"
# Options of the top-level group itself; any other leading option belongs to ``run``.
GROUP_OPTIONS = ("--version", "-h", "--help")


def fail(message: str, code: int) -> typer.Exit:
    """Print the one-line error every failure becomes, and the exit to raise."""
    one_line = " ".join(message.split())
    # Escaped: a message is plain text, and "[web]" in one must not be read as markup.
    stderr_console.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class DefaultCommandGroup(TyperGroup):
    """Routes ``animate SOURCE DRIVING`` (options anywhere) to the ``run`` subcommand, and
    turns every usage error into one line on stderr instead of a boxed message."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args:
            typer.echo(ctx.get_help())
            raise typer.Exit(ExitCode.USAGE)
        if args[0] == "--":
            args = [DEFAULT_COMMAND, *args[1:]]
        elif args[0] not in self.commands and args[0] not in GROUP_OPTIONS:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            code = fail("interrupted", ExitCode.INTERRUPTED).exit_code
        except typer.TyperException as exc:  # Typer's usage errors: bad option, value, file
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            message = getattr(exc, "format_message", exc.__str__)()
            code = fail(f"{message}{hint}", ExitCode.USAGE).exit_code
        code = code if isinstance(code, int) else ExitCode.OK
        if standalone_mode:
            sys.exit(code)
        return code

    # Commands turn interrupts into messages themselves; these two cover the moments
    # before and after (Typer would otherwise exit 130 without a word).
    def make_context(self, *args: Any, **kwargs: Any) -> typer.Context:
        with user_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        with user_errors():
            return super().invoke(ctx)


HELP = """Animate a still image with the motion of a driving video (FOMM or TPSMM models).

[bold]Usage:[/]

  animate SOURCE DRIVING [-o OUT] [OPTIONS]   animate a photo (same as [bold]animate run[/])

  animate crop VIDEO [-o DIR]                 cut face clips out of a video

  animate batch FOLDER [-o DIR]               animate every image x video pair in a folder

  animate doctor                              check torch, CUDA, ffmpeg, the model, face backends

  animate models list | fetch NAME | add FILE  real FOMM/TPSMM models (e.g. fomm-vox)

  animate eval                                score the model on held-out synthetic videos

  animate serve [--port 7860]                 a local web page (pip install 'animatecli\\[web]')

Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 3 no face found,
4 some batch pairs failed, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
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


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and a documented exit code."""
    try:
        with recording_interrupts():
            yield
    except AnimateError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except Terminated:
        raise fail("terminated", ExitCode.TERMINATED) from None
    except KeyboardInterrupt:
        raise fail("interrupted", ExitCode.INTERRUPTED) from None


def make_reporter(quiet: bool, json_output: bool) -> RichReporter:
    if quiet:
        return QuietReporter()
    return RichReporter(show_progress=not json_output)


def emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, default=str))


# Options used by several commands ------------------------------------------------------

_ANIMATE = AnimateOptions()  # the defaults, declared once in options.py
_MODEL = ModelOptions()

DetectorOpt = Annotated[
    DetectorKind,
    typer.Option(
        "--detector",
        help="Face detector: auto (face-alignment if its weights are cached, else dlib, else "
        "the LBP cascade), face-alignment, dlib, or opencv/lbp (boxes only). See README, Faces.",
    ),
]
DeviceOpt = Annotated[
    str, typer.Option("--device", metavar="auto|cpu|cuda|cuda:N", help="Compute device.")
]
CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Official FOMM or TPSMM .pth.tar, an animatecli checkpoint (the family is "
        "recognised), or the name of a fetched model (animate models list) "
        "\\[env: ANIMATE_CHECKPOINT; default: the bundled model, "
        "animatecli-synthetic-128.pt].",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config", metavar="NAME", help="Official config name, e.g. vox-256 or (TPSMM) ted-384."
    ),
]
CrfOpt = Annotated[
    int,
    typer.Option("--crf", min=CRF_RANGE[0], max=CRF_RANGE[1], help="Quality (lower = better)."),
]
PresetOpt = Annotated[X264Preset, typer.Option("--preset", help="x264 speed preset.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


# The options of one animation job, shared by run and batch ------------------------------


@dataclass(frozen=True)
class Job:
    """What the shared options of run and batch add up to."""

    animate: AnimateOptions
    model: ModelOptions
    quiet: bool
    json_output: bool


def job_options(
    mode: Annotated[
        MotionModeName,
        typer.Option(
            "--mode",
            help="relative: transfer motion; absolute (or standard): copy poses; avd: TPSMM's "
            "learned re-posing (checkpoints with an AVD network).",
        ),
    ] = _ANIMATE.mode,
    adapt_scale: Annotated[
        bool,
        typer.Option(
            "--adapt-scale/--no-adapt-scale",
            help="Scale the motion by the ratio of source and driving face sizes.",
        ),
    ] = _ANIMATE.adapt_scale,
    align: Annotated[
        str,
        typer.Option(
            "--align",
            metavar="best|first|N",
            help="Driving frame matched to the source pose: best (searched), first, or an index.",
        ),
    ] = _ANIMATE.align,
    fit: Annotated[
        FitMode, typer.Option("--fit", help="Non-square frames: centre crop, pad or stretch.")
    ] = _ANIMATE.fit,
    device: DeviceOpt = _MODEL.device,
    fp16: Annotated[
        bool, typer.Option("--fp16", help="Half-precision autocast (CUDA only).")
    ] = _MODEL.fp16,
    cuda_graphs: Annotated[
        bool,
        typer.Option(
            "--cuda-graphs",
            help="Replay the generate step from a CUDA graph at the batch size (CUDA only; "
            "experimental: eager where capture fails).",
        ),
    ] = _MODEL.cuda_graphs,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=BATCH_SIZE_RANGE[0],
            max=BATCH_SIZE_RANGE[1],
            help="Frames per model call \\[default: 1 CPU, 8 CUDA].",
        ),
    ] = _ANIMATE.batch_size,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=THREADS_RANGE[0],
            max=THREADS_RANGE[1],
            help="CPU threads of the model \\[default: this process's share of the CPUs it may "
            "use (affinity, cgroup quota or OMP_NUM_THREADS), split with other animate runs].",
            show_default=False,
        ),
    ] = _MODEL.threads,
    checkpoint: CheckpointOpt = _MODEL.checkpoint,
    config: ConfigOpt = _MODEL.config,
    crf: CrfOpt = _ANIMATE.crf,
    preset: PresetOpt = _ANIMATE.preset,
    encoder: Annotated[
        EncoderName,
        typer.Option(
            "--encoder",
            help="H.264 encoder: auto (NVENC when the job runs on CUDA and NVENC works "
            "there, else x264), x264, or nvenc (an error where it does not work). "
            "--crf and --preset carry over to NVENC (README, Performance).",
        ),
    ] = _ANIMATE.encoder,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an existing output.")
    ] = _ANIMATE.overwrite,
    crop_source: Annotated[
        CropSourceMode,
        typer.Option(
            "--crop-source",
            help="auto: crop the face out of a larger photo; off: use the whole photo.",
        ),
    ] = _ANIMATE.crop_source,
    crop_driving: Annotated[
        CropDrivingMode,
        typer.Option(
            "--crop-driving",
            help="auto: feed the model the driving video's face crop (found in the alignment "
            "pass, following the face if it moves) unless it already is one; off: whole frames "
            "fitted by --fit.",
        ),
    ] = _ANIMATE.crop_driving,
    paste_back: Annotated[
        bool,
        typer.Option("--paste-back", help="Composite the animated face into the full-size photo."),
    ] = _ANIMATE.paste_back,
    compare: Annotated[
        bool, typer.Option("--compare", help="Output source | driving | result side by side.")
    ] = _ANIMATE.compare,
    detector: DetectorOpt = _ANIMATE.detector,
    smooth: Annotated[
        str,
        typer.Option(
            "--smooth",
            metavar="off|auto|S",
            help="Steady the driving motion over time (One-Euro filter on the keypoints): "
            "auto, off, or a strength S from 0.1 to 10 (auto is 1; 2 smooths harder, lags more).",
        ),
    ] = _ANIMATE.smooth,
    faces: Annotated[
        str,
        typer.Option(
            "--faces",
            metavar="largest|all|N",
            help="Faces of the photo to animate: the largest, all, or the N largest; several "
            "are each animated and pasted back into the full photo.",
        ),
    ] = _ANIMATE.faces,
    align_corners: Annotated[
        bool | None,
        typer.Option(
            "--align-corners/--no-align-corners",
            help="Warp convention: True is the PyTorch 1.0 semantics the official models were "
            "trained under. Default: the checkpoint's own (False for official files).",
            show_default=False,
        ),
    ] = _MODEL.align_corners,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Job:
    """Declares (in its signature) and builds the options of one animation job.

    This signature is the single place where run and batch options live: `with_job_options`
    adds its parameters to both commands. A new option is one parameter here and one field
    in `AnimateOptions` or `ModelOptions`, which validate it.
    """
    return Job(
        animate=AnimateOptions(
            mode=mode,
            adapt_scale=adapt_scale,
            align=align,
            fit=fit,
            batch_size=batch_size,
            crf=crf,
            preset=preset,
            encoder=encoder,
            overwrite=overwrite,
            crop_source=crop_source,
            crop_driving=crop_driving,
            paste_back=paste_back,
            compare=compare,
            detector=detector,
            smooth=smooth,
            faces=faces,
        ),
        model=ModelOptions(
            checkpoint=checkpoint,
            config=config,
            device=device,
            fp16=fp16,
            cuda_graphs=cuda_graphs,
            align_corners=align_corners,
            threads=threads,
        ),
        quiet=quiet,
        json_output=json_output,
    )


Command = TypeVar("Command", bound=Callable[..., None])


def with_job_options(command: Command) -> Command:
    """Give ``command`` every parameter of `job_options`; it receives them as ``job: Job``.

    The options are validated before the command body runs (one line and exit code 2 for
    a bad value), so no command loads a model for a job that cannot run.
    """
    own = inspect.signature(command)
    shared = inspect.signature(job_options)
    hints = {
        **get_type_hints(command, include_extras=True),
        **get_type_hints(job_options, include_extras=True),
    }
    # Typer reads the Annotated declarations from the signature: give it evaluated ones.
    params = [
        p.replace(annotation=hints[p.name])
        for p in (*own.parameters.values(), *shared.parameters.values())
        if p.name != "job"
    ]
    hints.pop("job", None)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        shared_values = {name: kwargs.pop(name) for name in shared.parameters}
        with user_errors():
            job = job_options(**shared_values)
        command(**kwargs, job=job)

    del wrapper.__wrapped__  # Typer must read the signature below, not the command's
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = hints
    return wrapper  # type: ignore[return-value]


def check_encoder(job: Job, outputs: Iterable[Path | str]) -> None:
    """Refuse ``--encoder nvenc`` where NVENC does not work or an output is not H.264,
    before the model loads (a real one-frame encode, cached for the job itself)."""
    if job.animate.encoder != "nvenc":
        return  # auto and x264 always find an encoder
    from .media import choose_encoder

    for output in outputs:
        choose_encoder("nvenc", job.model.device, output)


RUN_EXAMPLES = """[bold]Examples:[/]

  animate photo.png talk.mp4                      writes photo__talk.mp4 here

  animate photo.png talk.mp4 -o out.gif --compare  side by side, as a GIF

  animate photo.png talk.mp4 -o frames/            a folder of PNG frames

  animate photo.jpg talk.mp4 --checkpoint fomm-vox  after animate models fetch fomm-vox

  animate -y -o out.mp4 photo.png talk.mp4 --checkpoint vox-cpk.pth.tar
"""


@app.command("run", epilog=RUN_EXAMPLES)
@with_job_options
def run_command(
    source: Annotated[Path, typer.Argument(help="Source image (PNG, JPEG, WebP, BMP, ...).")],
    driving: Annotated[Path, typer.Argument(help="Driving video.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Output: .mp4/.mov/.mkv/.webm, .gif, or a folder/ of PNG frames "
            "\\[default: SOURCE__DRIVING.mp4].",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print details.")] = False,
    *,
    job: Job,
) -> None:
    """Animate SOURCE with the motion of DRIVING (the default command)."""
    target = output if output is not None else output_name(source, driving)
    with user_errors():
        # Everything the user typed is checked before the model stack is imported.
        check_input_file(source, "image")
        check_input_file(driving, "video")
        check_output_path(target, job.animate.overwrite, inputs=(source, driving))
        check_encoder(job, [target])
        from .pipeline import AnimationPipeline

        reporter = make_reporter(job.quiet, job.json_output)
        pipeline = AnimationPipeline(job.model, reporter)
        if verbose:
            described = pipeline.describe_checkpoint()
            stderr_console.print(
                f"model: {described['path']} ({described['origin']}, {described['family'].upper()} "
                f"{described['config_name'] or 'custom config'}, {described['config_source']}); "
                f"device: {pipeline.device}",
                highlight=False,
            )
        result = pipeline.run(source, driving, target, job.animate)
    if verbose and not job.json_output and result.encoder and result.decoder:
        stderr_console.print(
            f"encoder: {result.encoder.name} ({result.encoder.reason}); driving decoder: "
            f"{result.decoder.name} ({result.decoder.reason})"
            + (f"; generate step: {result.cuda_graph}" if result.cuda_graph else ""),
            highlight=False,
        )
    if job.json_output:
        emit_json(result.to_dict())
    elif not job.quiet:
        stderr_console.print(
            f"[green]wrote[/] {result.output} ({result.frames} frames at "
            f"{float(result.fps):.3f} fps, {result.size[0]}x{result.size[1]}, "
            f"{'with' if result.audio_kept else 'without'} audio; aligned on frame "
            f"{result.alignment.index} ({result.alignment.method}); "
            f"{'driving video cropped to its face; ' if result.driving_crop else ''}"
            f"{result.frames / result.seconds:.2f} frames/s)",
            highlight=False,
        )


@app.command("crop")
def crop_command(
    video: Annotated[Path, typer.Argument(help="Video to cut face clips out of.")],
    outdir: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Output folder \\[default: ./VIDEO_faces/]."
        ),
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
    min_face: Annotated[
        float | None,
        typer.Option(
            "--min-face",
            min=8.0,
            help="Smallest face kept, px \\[default: 1/8 of the short side]; "
            "lower it for small faces in wide shots (slower with dlib).",
        ),
    ] = None,
    track: Annotated[
        str,
        typer.Option(
            "--track",
            metavar="auto|static|follow",
            help="static: one fixed crop per clip (FOMM); follow: the crop moves with the "
            "face, smoothed; auto: static unless the face moves more than half its size.",
        ),
    ] = "auto",
    increase: Annotated[
        float, typer.Option("--increase", min=0.0, help="Margin around the face, each side.")
    ] = 0.1,
    size: Annotated[int, typer.Option("--size", help="Side of the square clips, px.")] = 256,
    device: DeviceOpt = "auto",
    crf: CrfOpt = DEFAULT_CRF,
    preset: PresetOpt = DEFAULT_PRESET,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace existing clip files.")
    ] = False,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Cut square face clips (with their audio) out of VIDEO, one per face tube."""
    from .crop import CropOptions, crop_video, resolve_detector_device

    reporter = make_reporter(quiet, json_output)
    with user_errors():
        options = CropOptions(
            every=every,
            min_seconds=min_seconds,
            increase=increase,
            size=size,
            min_score=min_score,
            min_face=min_face,
            track=track,
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
                f"{clip.frames / float(result.fps):.2f} s, {clip.track} crop, "
                f"box {','.join(map(str, clip.box))})",
                highlight=False,
            )
        stderr_console.print(
            f"{len(result.clips)} clip(s) from {result.tubes} face tube(s); "
            f"{result.frames_detected} of {result.frames_scanned} frames examined with the "
            f"{result.detector} detector in {result.seconds:.1f} s",
            highlight=False,
        )


@app.command("batch")
@with_job_options
def batch_command(
    folder: Annotated[Path, typer.Argument(help="Folder of source images and driving videos.")],
    outdir: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Output folder \\[default: FOLDER/animated/].",
            show_default=False,
        ),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs", help="CSV or JSON of source,driving[,output] instead of all pairs."
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option("--shard", metavar="I/N", help="Process only share I of N (0-based)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report of every pair.")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first error.")
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=256,
            help="Worker processes, each with its own model; the CPU threads are split "
            "between them.",
        ),
    ] = 1,
    *,
    job: Job,
) -> None:
    """Animate every image x video pair in FOLDER (resumable; see README for sharding)."""
    from . import batch

    target = outdir or folder / "animated"
    results: list[batch.PairResult] = []
    with user_errors():
        # Every input and the report's place are checked before the model stack loads.
        if pairs is not None:
            listed = batch.read_pairs_file(pairs, pairs.parent, target)
        else:
            listed = batch.folder_pairs(folder, target)
        selected = [p for p in listed if batch.in_shard(p, batch.parse_shard(shard))]
        if report is not None:
            batch.check_report_path(report)
        check_encoder(job, [pair.output for pair in selected])
        target.mkdir(parents=True, exist_ok=True)
        from .pipeline import AnimationPipeline
        from .reporting import BatchDisplay

        display = BatchDisplay(show_progress=not job.json_output, quiet=job.quiet)
        try:
            if jobs > 1 and len(selected) > 1:
                from .batch_workers import run_parallel

                run_parallel(
                    selected,
                    job.model,
                    job.animate,
                    jobs,
                    fail_fast=fail_fast,
                    progress=display,
                    reporter_for=display.worker_reporter,
                    results=results,
                )
            else:
                pipeline = AnimationPipeline(job.model, display)
                pipeline.check(job.animate)
                batch.run_batch(
                    selected,
                    job.animate,
                    pipeline.animate_pair,
                    fail_fast=fail_fast,
                    progress=display,
                    results=results,
                )
        finally:
            display.close()
            if report is not None:
                batch.write_report(report, results)  # also for an interrupted batch
    render_batch(results, len(selected), len(listed), job)
    code = batch.exit_code(results)
    if code:
        raise typer.Exit(code)


def render_batch(results: list[Any], selected: int, listed: int, job: Job) -> None:
    """The batch's per-pair table and counts on stderr, or its JSON on stdout."""
    from rich.table import Table

    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "failed")}
    if job.json_output:
        emit_json({"pairs": [vars(r) for r in results], "summary": counts})
        return
    if job.quiet:
        return
    table = Table(title=f"batch: {selected} of {listed} pairs in this shard")
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


@app.command("doctor")
def doctor_command(
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Check torch, CUDA, ffmpeg, the model that would be used and face-alignment weights."""
    # Loading torch takes seconds: say at once what is going on (on a terminal only).
    checking = f"animatecli {__version__}: checking torch, CUDA, ffmpeg and the model ..."
    with user_errors(), stderr_console.status(checking):
        from .doctor import collect, render

        report = collect(checkpoint, config)
    if json_output:
        emit_json(report)
    else:
        from rich.console import Console

        render(report, Console())


models_app = typer.Typer(
    help="Released FOMM/TPSMM checkpoints and the face-alignment weights: list, fetch "
    "(verified, resumable), add a file you have, path, rm. Exit codes: 0 ok, 1 download "
    "failed, 2 unknown name, bad file or not cached, 130 interrupted (the partial download "
    "is kept and resumed next time).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
ModelNamesArg = Annotated[
    list[str],
    typer.Argument(
        help="Catalogue names (see `animate models list`) or face-alignment.",
        show_default=False,
    ),
]


@models_app.command("list")
def models_list_command(json_output: JsonOpt = False) -> None:
    """The catalogue: each model's size, licence, training data, and if it is cached."""
    from .store import list_models, render_list

    with user_errors():
        states = list_models()
    if json_output:
        from .catalogue import models_dir

        emit_json({"cache": str(models_dir()), "models": [s.to_dict() for s in states]})
    else:
        from rich.console import Console

        render_list(states, Console())


@models_app.command("fetch")
def models_fetch_command(
    names: ModelNamesArg,
    from_url: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="URL",
            help="Download one model from this URL instead of the mirrors (still verified "
            "by its SHA-256).",
        ),
    ] = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Download models into the cache (resumable, verified by SHA-256).

    Mirror after mirror until one gives the right file; written atomically."""
    from .reporting import DownloadReporter
    from .store import fetch_models

    reporter = DownloadReporter(show_progress=not (quiet or json_output))
    with user_errors():
        results = fetch_models(names, reporter, from_url=from_url)
    if json_output:
        payload = [r.to_dict() for r in results]
        emit_json(payload[0] if len(payload) == 1 else {"models": payload})
    elif not quiet:
        for result in results:
            for f in result.files:
                stderr_console.print(
                    f"[green]{f.status}[/] {result.name}: {f.path} ({f.size / 2**20:.1f} MiB)",
                    highlight=False,
                )


@models_app.command("add")
def models_add_command(
    files: Annotated[list[Path], typer.Argument(help="Checkpoint files downloaded by hand.")],
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Put checkpoint files you downloaded by hand in the cache.

    Recognised by SHA-256; a hard link or reflink where possible, else a copy; your file
    is left as is."""
    from .store import add_files

    with user_errors():
        results = add_files(files)
    if json_output:
        emit_json({"added": [r.to_dict() for r in results]})
    elif not quiet:
        for r in results:
            stderr_console.print(
                f"[green]added[/] {r.source} as {r.name} ({r.placed}): {r.path}", highlight=False
            )


@models_app.command("path")
def models_path_command(
    name: Annotated[str, typer.Argument(help="A catalogue name.")],
) -> None:
    """Print the cached file of NAME (exit 2 if it is not cached)."""
    from .store import model_path

    with user_errors():
        path = model_path(name)
    typer.echo(str(path))


@models_app.command("rm")
def models_rm_command(
    name: Annotated[str, typer.Argument(help="A catalogue name.")],
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Delete NAME's cached file and any partial download."""
    from .store import remove_model

    with user_errors():
        result = remove_model(name)
    if json_output:
        emit_json(result.to_dict())
    elif not quiet:
        what = ", ".join(str(p) for p in result.removed) or "nothing was cached"
        stderr_console.print(f"removed {name}: {what}", highlight=False)


@app.command("eval")
def eval_command(
    checkpoint: CheckpointOpt = None,
    videos: Annotated[int, typer.Option(min=1, help="Held-out videos.")] = 8,
    frames: Annotated[int, typer.Option(min=2, help="Frames per video.")] = 100,
    json_output: JsonOpt = False,
) -> None:
    """Reconstruction scores on held-out synthetic videos (FOMM's protocol), and the
    effect of --smooth on a jittery real face; each without and with smoothing."""
    from rich.table import Table

    from .models import resolve_checkpoint
    from .training.evaluate import evaluate_reconstruction
    from .training.jitter import score_smoothing_on_astronaut

    with user_errors():
        from .engine import OneEuroSettings, load_checkpoint

        path, _ = resolve_checkpoint(checkpoint)
        loaded = load_checkpoint(path)
        scores = evaluate_reconstruction(loaded.model, videos=videos, frames=frames)
        smoothed = evaluate_reconstruction(
            loaded.model, videos=videos, frames=frames, smoothing=OneEuroSettings()
        )
        jitter = {
            name: score_smoothing_on_astronaut(loaded.model, settings)
            for name, settings in (("off", None), ("auto", OneEuroSettings()))
        }
    if json_output:
        emit_json(
            {
                "checkpoint": str(path),
                **scores.to_dict(),
                "smoothed": smoothed.to_dict(),
                "jitter": {name: s.to_dict() for name, s in jitter.items()},
            }
        )
        return
    from rich.console import Console

    console = Console()
    table = Table(title=f"reconstruction on {videos} held-out videos x {frames} frames")
    for column in ("--smooth", "model L1", "copy-source L1", "ratio", "AKD (px)"):
        table.add_column(column, justify="right")
    for name, row in (("off", scores), ("auto", smoothed)):
        table.add_row(
            name,
            f"{row.l1:.4f}",
            f"{row.copy_source_l1:.4f}",
            f"{row.ratio:.3f}",
            f"{row.akd_pixels:.2f}",
        )
    console.print(table)
    table = Table(title="jittery astronaut video: keypoint jitter and lag, output flicker")
    for column in ("--smooth", "jitter on still (px)", "lag on pans (frames)", "flicker"):
        table.add_column(column, justify="right")
    for name, row in jitter.items():
        table.add_row(name, f"{row.jitter_px:.2f}", f"{row.lag_frames:.2f}", f"{row.flicker:.4f}")
    console.print(table)


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
    """Run the ``animate`` command (see ``animatecli.__main__`` for the entry point)."""
    terminate_like_interrupt()
    try:
        app(prog_name="animate")
    except Terminated:  # while Typer builds the command, before any handler of ours
        sys.exit(fail("terminated", ExitCode.TERMINATED).exit_code)
    except KeyboardInterrupt:
        sys.exit(fail("interrupted", ExitCode.INTERRUPTED).exit_code)
