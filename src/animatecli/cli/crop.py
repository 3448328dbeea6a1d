"""``animate crop``: square face clips cut out of a video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..options import MIN_FACE_PX, CropOptions
from ..reporting import stderr_console
from .app import app, emit_json, make_reporter, user_errors
from .declarations import CrfOpt, DetectorOpt, DeviceOpt, JsonOpt, PresetOpt, QuietOpt

_CROP = CropOptions()  # the defaults, declared once in options.py


@app.command("crop")
def crop_command(
    video: Annotated[Path, typer.Argument(help="Video to cut face clips out of.")],
    outdir: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Output folder \\[default: ./VIDEO_faces/]."
        ),
    ] = None,
    detector: DetectorOpt = _CROP.detector,
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            min=1,
            help="Detect faces on every Nth frame \\[default: 5 per second, every 5th at 25 fps].",
        ),
    ] = _CROP.every,
    min_seconds: Annotated[
        float, typer.Option("--min-seconds", min=0.0, help="Shortest face tube kept as a clip.")
    ] = _CROP.min_seconds,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            help="Best detection score a tube needs \\[default: 8 windows for opencv/LBP, "
            "none for face-alignment].",
        ),
    ] = _CROP.min_score,
    min_face: Annotated[
        float | None,
        typer.Option(
            "--min-face",
            min=MIN_FACE_PX,
            help="Smallest face kept, px \\[default: 1/8 of the short side]; "
            "lower it for small faces in wide shots (slower with dlib).",
        ),
    ] = _CROP.min_face,
    track: Annotated[
        str,
        typer.Option(
            "--track",
            metavar="auto|static|follow",
            help="static: one fixed crop per clip (FOMM); follow: the crop moves with the "
            "face, smoothed; auto: static unless the face moves more than half its size.",
        ),
    ] = _CROP.track,
    increase: Annotated[
        float, typer.Option("--increase", min=0.0, help="Margin around the face, each side.")
    ] = _CROP.increase,
    size: Annotated[int, typer.Option("--size", help="Side of the square clips, px.")] = _CROP.size,
    device: DeviceOpt = _CROP.device,
    crf: CrfOpt = _CROP.crf,
    preset: PresetOpt = _CROP.preset,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace existing clip files.")
    ] = _CROP.overwrite,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Cut square face clips (with their audio) out of VIDEO, one per face tube."""
    from ..crop import crop_video

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
            device=device,
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
