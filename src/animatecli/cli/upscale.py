"""``animate upscale``: sharpen any image or video with a Real-ESRGAN model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..options import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    ProvenanceOptions,
    check_device,
    check_encoding,
)
from ..reporting import stderr_console
from ..upscale_options import DEFAULT_SCALE, UpscaleOptions, parse_scale
from .app import app, emit_json, make_reporter, user_errors
from .declarations import (
    CrfOpt,
    DeviceOpt,
    JsonOpt,
    PresetOpt,
    QuietOpt,
    UpscalerOpt,
    with_provenance_options,
)

UPSCALE_EXAMPLES = """[bold]Examples:[/]

  animate upscale photo__talk.mp4 -o sharp.mp4            ×4, sound and frame rate kept

  animate upscale face.png -o face_x2.png --scale 2

  animate upscale clip.mp4 -o sharp.mp4 --upscaler photo  x4plus: natural faces, slow on a CPU
"""


@app.command("upscale", epilog=UPSCALE_EXAMPLES)
@with_provenance_options
def upscale_command(
    source: Annotated[Path, typer.Argument(metavar="INPUT", help="Image or video to upscale.")],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Output: an image for an image (.png, .jpg, .webp, ...); for a video, "
            ".mp4/.mov/.mkv/.webm, .gif, or a folder/ of PNG frames.",
        ),
    ],
    scale: Annotated[str, typer.Option("--scale", metavar="2|3|4", help="Upscaling factor.")] = str(
        DEFAULT_SCALE
    ),
    upscaler: UpscalerOpt = "auto",
    device: DeviceOpt = "auto",
    crf: CrfOpt = DEFAULT_CRF,
    preset: PresetOpt = DEFAULT_PRESET,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an existing output.")
    ] = False,
    quiet: QuietOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print details.")] = False,
    json_output: JsonOpt = False,
    *,
    provenance: ProvenanceOptions,
) -> None:
    """Upscale INPUT (any image or video) with Real-ESRGAN: sound, frame rate and
    rotation kept. See docs/upscaling.md."""
    with user_errors():
        # Everything the user typed is checked before torch and the model are loaded.
        options = UpscaleOptions(scale=parse_scale(scale), upscaler=upscaler)
        check_device(device)
        check_encoding(crf, preset)
        if not source.is_file():
            from ..errors import InputError

            raise InputError(f"input not found: {source}")
        from ..models import resolve_device
        from ..upscaling import upscale_file

        torch_device = resolve_device(device)
        if verbose:
            stderr_console.print(f"device: {torch_device}", highlight=False)
        result = upscale_file(
            source,
            output,
            options,
            device=str(torch_device),
            overwrite=overwrite,
            reporter=make_reporter(quiet, json_output),
            crf=crf,
            preset=preset,
            provenance=provenance,
        )
    if json_output:
        emit_json(
            {
                "output": str(result.output),
                "upscaler": result.model,
                "scale": result.scale,
                "frames": result.frames,
                "width": result.width,
                "height": result.height,
                "audio_kept": result.audio_kept,
                "provenance": result.provenance,
            }
        )
    elif not quiet:
        stderr_console.print(
            f"[green]wrote[/] {result.output} ({result.frames} frame(s), "
            f"{result.width}x{result.height}, ×{result.scale} with {result.model}"
            f"{', with audio' if result.audio_kept else ''})",
            highlight=False,
        )
