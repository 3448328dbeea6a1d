"""``animate run`` (the default command): one photo animated by one driving video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..paths import output_name
from ..reporting import stderr_console
from ..runtime.preflight import check_job_files
from ..words import counted
from .app import app, emit_json, make_reporter, user_errors
from .declarations import JobOptions, with_job_options

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
    job: JobOptions,
) -> None:
    """Animate SOURCE with the motion of DRIVING (the default command)."""
    target = output if output is not None else output_name(source, driving)
    with user_errors():
        # Everything the user typed is checked before the model stack is imported.
        checked = check_job_files(source, driving, target, job.animate, job.model.device)
        from ..runtime.job import AnimationJob
        from ..runtime.runtime import Runtime

        reporter = make_reporter(job.quiet, job.json_output)
        runtime = Runtime(job.model)
        if verbose:
            described = runtime.describe_checkpoint()
            stderr_console.print(
                f"model: {described['path']} ({described['origin']}, {described['family'].upper()} "
                f"{described['config_name'] or 'custom config'}, {described['config_source']}); "
                f"device: {runtime.device}",
                highlight=False,
            )
        result = AnimationJob(runtime, job.animate, reporter).run(source, driving, checked)
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
            f"[green]wrote[/] {result.output} ({counted(result.frames, 'frame')} at "
            f"{float(result.fps):.3f} fps, {result.size[0]}x{result.size[1]}, "
            f"{'with' if result.audio_kept else 'without'} audio; aligned on frame "
            f"{result.alignment.index} ({result.alignment.method}); "
            f"{'driving video cropped to its face; ' if result.driving_crop else ''}"
            + (
                f"upscaled ×{result.upscale['scale']} with {result.upscale['upscaler']}; "
                if result.upscale
                else ""
            )
            + f"{result.frames / result.seconds:.2f} frames/s)",
            highlight=False,
        )
