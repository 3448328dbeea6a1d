"""What one job produced: the result types, and their ``--json`` form."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..engine import OneEuroSettings
from .alignment import Alignment, DrivingCrop
from .source import PreparedImage


@dataclass(frozen=True)
class CodecUsed:
    """The video encoder (ffmpeg's name) or driving decoder of a job, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass
class AnimateResult:
    """What one job produced (the CLI's ``--json`` object)."""

    output: Path
    frames: int
    fps: Fraction
    seconds: float
    device: str
    checkpoint: dict[str, Any]
    alignment: Alignment
    audio_kept: bool
    size: tuple[int, int]  # (width, height) of the output frames
    driving_crop: DrivingCrop | None = None
    smoothing: OneEuroSettings | None = None
    encoder: CodecUsed | None = None
    decoder: CodecUsed | None = None  # "nvdec" or "software"
    cuda_graph: str | None = None  # with --cuda-graphs: whether the graph replayed, or why not
    # --faces all|N: each animated face's crop box in the photo and its own alignment.
    faces: list[tuple[PreparedImage, Alignment]] | None = None
    # Wall seconds per stage: source (load + crop), align, animate (decode + model +
    # encode, overlapped), finalize (audio mux and rename).
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # The compute threads the job ended with, and why (`threads.ThreadShare.to_dict`).
    threads: dict[str, Any] | None = None
    # Errors ffmpeg reported (and concealed) decoding the driving video.
    decode_errors: int = 0
    # Every notice the job said (what the reporter showed), in order.
    notices: list[str] = field(default_factory=list)
    # --upscale: {"upscaler": the model used, "scale": the factor}; None when off.
    upscale: dict[str, Any] | None = None
    # The output's marks: watermark output id, credentials, label (`marks.OutputMarks`).
    provenance: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "frames": self.frames,
            "fps": float(self.fps),
            "fps_fraction": f"{self.fps.numerator}/{self.fps.denominator}",
            "seconds": round(self.seconds, 3),
            "processing_fps": round(self.frames / self.seconds, 3) if self.seconds else None,
            "device": self.device,
            "checkpoint": self.checkpoint,
            "alignment_frame": self.alignment.index,
            "alignment_method": self.alignment.method,
            "audio_kept": self.audio_kept,
            "width": self.size[0],
            "height": self.size[1],
            "driving_crop": self.driving_crop.to_dict() if self.driving_crop else None,
            "smoothing": self.smoothing.to_dict() if self.smoothing else None,
            "encoder": self.encoder.to_dict() if self.encoder else None,
            "decoder": self.decoder.to_dict() if self.decoder else None,
            "cuda_graph": self.cuda_graph,
            "faces": None
            if self.faces is None
            else [
                {
                    "box": list(face.box),
                    "alignment_frame": alignment.index,
                    "alignment_method": alignment.method,
                }
                for face, alignment in self.faces
            ],
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "threads": self.threads,
            "decode_errors": self.decode_errors,
            "notices": list(self.notices),
            "upscale": self.upscale,
            "provenance": self.provenance,
        }
