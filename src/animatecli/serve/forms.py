"""The page's form fields → the CLI's option objects, validated the same way.

Choices and defaults come from the option dataclasses of `animatecli.options` (the same
declarations the CLI's options take theirs from), so the page offers exactly what the CLI
accepts; `form_schema` hands them to the page.
"""

from __future__ import annotations

import math
from typing import Any, get_args

from ..errors import InputError
from ..options import (
    UPSCALE_CHOICES,
    UPSCALER_CHOICES,
    AnimateOptions,
    CropDrivingMode,
    CropOptions,
    CropSourceMode,
    DetectorKind,
    FitMode,
    MotionModeName,
    check_align,
)

# The output picture: the animated square alone, or --compare, or --paste-back (the CLI
# refuses the last two together; one choice on the page cannot ask for both).
LAYOUTS = ("result", "compare", "paste-back")
# Containers every browser plays (H.264/AAC, VP9/Opus).
FORMATS = ("mp4", "webm")

CHOICES: dict[str, tuple[str, ...]] = {
    "mode": get_args(MotionModeName),
    "fit": get_args(FitMode),
    "crop_source": get_args(CropSourceMode),
    "crop_driving": get_args(CropDrivingMode),
    # --smooth and --faces take numbers too; the page offers their named values and one
    # stronger smoothing.
    "smooth": ("auto", "off", "2"),
    "faces": ("largest", "all"),
    "detector": get_args(DetectorKind),
    # --upscale and the named --upscaler models (a file path is for the CLI).
    "upscale": UPSCALE_CHOICES,
    "upscaler": UPSCALER_CHOICES,
    "layout": LAYOUTS,
    "format": FORMATS,
}
ALIGN_CHOICES = ("best", "first")  # or a frame index


def form_schema() -> dict[str, Any]:
    """Choices and defaults of every option the page shows."""
    animate = AnimateOptions()
    crop = CropOptions()
    return {
        "choices": {**CHOICES, "align": ALIGN_CHOICES},
        "defaults": {
            "mode": animate.mode,
            "align": animate.align,
            "fit": animate.fit,
            "crop_source": animate.crop_source,
            "crop_driving": animate.crop_driving,
            "smooth": animate.smooth,
            "faces": animate.faces,
            "detector": animate.detector,
            "upscale": animate.upscale,
            "upscaler": animate.upscaler,
            "adapt_scale": animate.adapt_scale,
            "layout": "result",
            "format": FORMATS[0],
            "min_seconds": crop.min_seconds,
        },
    }


def _choice(fields: dict[str, str], name: str, default: str) -> str:
    value = fields.get(name, default)
    if value not in CHOICES[name]:
        raise InputError(f"{name}: must be one of {', '.join(CHOICES[name])}, got {value!r}")
    return value


def _flag(fields: dict[str, str], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    if value not in ("on", "off"):
        raise InputError(f"{name}: must be on or off, got {value!r}")
    return value == "on"


def animate_options(fields: dict[str, str]) -> AnimateOptions:
    """`AnimateOptions` from the animate form (missing fields keep the CLI's defaults)."""
    defaults = AnimateOptions()
    align = fields.get("align", defaults.align)
    check_align(align, "align")  # the CLI's own check, so the page says the same
    layout = _choice(fields, "layout", "result")
    return AnimateOptions(
        mode=_choice(fields, "mode", defaults.mode),  # type: ignore[arg-type]
        adapt_scale=_flag(fields, "adapt_scale", defaults.adapt_scale),
        align=align,
        fit=_choice(fields, "fit", defaults.fit),  # type: ignore[arg-type]
        crop_source=_choice(fields, "crop_source", defaults.crop_source),  # type: ignore[arg-type]
        crop_driving=_choice(fields, "crop_driving", defaults.crop_driving),  # type: ignore[arg-type]
        smooth=_choice(fields, "smooth", defaults.smooth),
        faces=_choice(fields, "faces", defaults.faces),
        detector=_choice(fields, "detector", defaults.detector),  # type: ignore[arg-type]
        upscale=_choice(fields, "upscale", defaults.upscale),
        upscaler=_choice(fields, "upscaler", defaults.upscaler),
        compare=layout == "compare",
        paste_back=layout == "paste-back",
    )


def output_format(fields: dict[str, str]) -> str:
    return _choice(fields, "format", FORMATS[0])


def crop_options(fields: dict[str, str], device: str) -> CropOptions:
    """`CropOptions` from the face-clip form; ``device`` is the server's torch device."""
    defaults = CropOptions()
    detector = _choice(fields, "detector", defaults.detector)
    text = fields.get("min_seconds", str(defaults.min_seconds))
    try:
        min_seconds = float(text)
    except ValueError:
        raise InputError(f"min_seconds: not a number: {text!r}") from None
    if not math.isfinite(min_seconds):
        raise InputError(f"min_seconds: not a number: {text!r}")
    return CropOptions(min_seconds=min_seconds, detector=detector, device=device)  # type: ignore[arg-type]
