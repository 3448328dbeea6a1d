"""Options declared once: each Typer declaration takes its default (and choices) from the
option dataclasses of `animatecli.options`, which validate the values; the web form reads
the same dataclasses (`serve.forms`).

`job_options` declares the options of one animation job (run and batch) in its signature;
`model_options` those of every command that loads a model.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from .. import catalogue
from ..options import (
    BATCH_SIZE_RANGE,
    CRF_RANGE,
    THREADS_RANGE,
    AnimateOptions,
    CropDrivingMode,
    CropSourceMode,
    DetectorKind,
    EncoderName,
    FitMode,
    ModelOptions,
    MotionModeName,
    ProvenanceOptions,
    Switch,
    X264Preset,
)
from .app import user_errors

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
UpscalerOpt = Annotated[
    str,
    typer.Option(
        "--upscaler",
        metavar="auto|animevideo|photo|anime|PATH",
        help="Upscaling model: auto (photo where the whole job takes under two minutes, "
        "else animevideo; it says which), animevideo (fast compact net), photo "
        "(x4plus, natural faces, slow on the CPU), anime, or an official Real-ESRGAN "
        ".pth / ncnn .param file.",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

# The provenance marks of every command that makes synthetic video (run, batch, upscale):
# declared once here; `provenance_options` builds and validates them.

_PROVENANCE = ProvenanceOptions()
CredentialsOpt = Annotated[
    Switch,
    typer.Option(
        "--credentials",
        help="Content Credentials (C2PA, signed) in MP4 outputs and an AI-generated label in "
        "every output's metadata; off writes neither (docs/provenance.md).",
    ),
]
WatermarkOpt = Annotated[
    Switch,
    typer.Option(
        "--watermark",
        help="An invisible watermark in every frame (survives re-encoding; "
        "check with animate verify).",
    ),
]
SignCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--sign-cert",
        metavar="FILE",
        envvar="ANIMATE_SIGN_CERT",
        help="Your PEM certificate chain (leaf first) to sign the credentials with "
        "\\[default: a key animate makes once in your config folder: proves integrity, not "
        "identity].",
        show_default=False,
    ),
]
SignKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--sign-key",
        metavar="FILE",
        envvar="ANIMATE_SIGN_KEY",
        help="The PEM private key (ES256) of --sign-cert.",
        show_default=False,
    ),
]


def provenance_options(
    credentials: CredentialsOpt = _PROVENANCE.credentials,
    watermark: WatermarkOpt = _PROVENANCE.watermark,
    sign_cert: SignCertOpt = _PROVENANCE.sign_cert,
    sign_key: SignKeyOpt = _PROVENANCE.sign_key,
) -> ProvenanceOptions:
    """Declares (in its signature) and builds the provenance options; a command that makes
    synthetic video takes them with `with_provenance_options` (or through `job_options`)."""
    return ProvenanceOptions(
        credentials=credentials, watermark=watermark, sign_cert=sign_cert, sign_key=sign_key
    )


# The options of one animation job, shared by run and batch ------------------------------


@dataclass(frozen=True)
class JobOptions:
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
    upscale: Annotated[
        str,
        typer.Option(
            "--upscale",
            metavar="off|2|3|4",
            help="Sharpen the animated frames with Real-ESRGAN by this factor before "
            "compositing (with --paste-back the face matches the photo's sharpness). "
            "See docs/upscaling.md.",
        ),
    ] = _ANIMATE.upscale,
    upscaler: UpscalerOpt = _ANIMATE.upscaler,
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
    credentials: CredentialsOpt = _PROVENANCE.credentials,
    watermark: WatermarkOpt = _PROVENANCE.watermark,
    sign_cert: SignCertOpt = _PROVENANCE.sign_cert,
    sign_key: SignKeyOpt = _PROVENANCE.sign_key,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> JobOptions:
    """Declares (in its signature) and builds the options of one animation job.

    This signature is the single place where run and batch options live: `with_job_options`
    adds its parameters to both commands. A new option is one parameter here and one field
    in `AnimateOptions` or `ModelOptions`, which validate it.
    """
    job = JobOptions(
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
            upscale=upscale,
            upscaler=upscaler,
            provenance=provenance_options(credentials, watermark, sign_cert, sign_key),
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
    # A catalogue model that is not fetched fails now, before any work.
    catalogue.require_cached(job.model.checkpoint)
    return job


Command = TypeVar("Command", bound=Callable[..., None])


def with_job_options(command: Command) -> Command:
    """Give ``command`` every parameter of `job_options`; it receives them as ``job: JobOptions``.

    The options are validated before the command body runs (one line and exit code 2 for
    a bad value), so no command loads a model for a job that cannot run.
    """
    return _with_group(command, job_options, "job")


def with_provenance_options(command: Command) -> Command:
    """Give ``command`` the parameters of `provenance_options`; it receives them as
    ``provenance: ProvenanceOptions`` (for commands outside `job_options`, e.g. upscale)."""
    return _with_group(command, provenance_options, "provenance")


def _with_group(command: Command, group: Callable[..., Any], name: str) -> Command:
    own = inspect.signature(command)
    shared = inspect.signature(group)
    hints = {
        **get_type_hints(command, include_extras=True),
        **get_type_hints(group, include_extras=True),
    }
    # Typer reads the Annotated declarations from the signature: give it evaluated ones.
    params = [
        p.replace(annotation=hints[p.name])
        for p in (*own.parameters.values(), *shared.parameters.values())
        if p.name != name
    ]
    hints.pop(name, None)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        shared_values = {key: kwargs.pop(key) for key in shared.parameters}
        with user_errors():
            built = group(**shared_values)
        command(**kwargs, **{name: built})

    del wrapper.__wrapped__  # Typer must read the signature below, not the command's
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = hints
    return wrapper  # type: ignore[return-value]
