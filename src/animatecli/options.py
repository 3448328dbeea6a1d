"""Job options with their defaults: the one source of truth for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .engine import MotionMode

FitMode = Literal["crop", "pad", "stretch"]
DetectorKind = Literal["auto", "face-alignment", "dlib", "opencv", "lbp"]
CropSourceMode = Literal["auto", "off"]
CropDrivingMode = Literal["auto", "off"]


@dataclass(frozen=True)
class ModelOptions:
    """Which model to run and where."""

    checkpoint: Path | None = None  # None: $ANIMATE_CHECKPOINT, then the bundled model
    config: str | None = None  # official config name overriding the inferred one
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    fp16: bool = False  # autocast fp16 on CUDA
    align_corners: bool | None = None  # None: the checkpoint's own warp convention


@dataclass(frozen=True)
class AnimateOptions:
    """How one source is animated by one driving video and written out."""

    mode: MotionMode = MotionMode.RELATIVE
    adapt_scale: bool = True
    align: str = "best"  # best | first | a frame index
    fit: FitMode = "crop"
    batch_size: int | None = None  # None: 1 on CPU (batching does not pay there), 8 on CUDA
    crf: int = 18
    preset: str = "medium"
    overwrite: bool = False
    crop_source: CropSourceMode = "auto"
    crop_increase: float = 0.1
    crop_driving: CropDrivingMode = "auto"  # feed the model the driving video's face crop
    paste_back: bool = False
    compare: bool = False  # source | driving | result side by side
    detector: DetectorKind = "auto"

    def alignment_index(self) -> int | None:
        """The fixed frame index of ``--align N`` (None for best/first handled apart)."""
        if self.align in ("best", "first"):
            return None
        return int(self.align)
