"""Job options with their choices, defaults and validation: the one source of truth for
the CLI and the API.

Nothing here imports torch, so the CLI can check every value (and print its help) before
the model stack is loaded. An invalid value raises `InputError` (exit code 2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from .errors import InputError
from .upscale_options import UPSCALER_NAMES, UpscaleOptions, parse_upscale

# --upscale: off or a factor; --upscaler: a named model or a file (upscale_options.py
# holds the models, what auto picks and the cost estimate; the options live here).
UPSCALE_CHOICES: tuple[str, ...] = ("off", "2", "3", "4")
UPSCALER_CHOICES: tuple[str, ...] = UPSCALER_NAMES

# Each choice is declared once, as a Literal type: the CLI shows and checks its values
# from the type, and the tuples below serve the validation here.
# The engine's MotionMode values: "standard" is TPSMM's name for absolute, "avd" needs a
# model with an AVD network (checked once the model is loaded).
MotionModeName = Literal["relative", "absolute", "standard", "avd"]
FitMode = Literal["crop", "pad", "stretch"]
DetectorKind = Literal["auto", "face-alignment", "dlib", "opencv", "lbp"]
CropSourceMode = Literal["auto", "off"]
CropDrivingMode = Literal["auto", "off"]
X264Preset = Literal[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
]
# How ``animate crop`` moves its square: one fixed crop per clip, following the face, or
# static unless the face moves more than half its size (`faces.crop_paths`).
TrackMode = Literal["auto", "static", "follow"]
# The H.264 encoder: auto picks NVENC when the job runs on CUDA and NVENC works there
# (media.choose_encoder), else libx264.
EncoderName = Literal["auto", "x264", "nvenc"]
# --credentials / --watermark: the provenance marks are on unless turned off on purpose.
Switch = Literal["on", "off"]
MOTION_MODES: tuple[str, ...] = get_args(MotionModeName)
FIT_MODES: tuple[str, ...] = get_args(FitMode)
DETECTORS: tuple[str, ...] = get_args(DetectorKind)
CROP_SOURCE_MODES: tuple[str, ...] = get_args(CropSourceMode)
CROP_DRIVING_MODES: tuple[str, ...] = get_args(CropDrivingMode)
X264_PRESETS: tuple[str, ...] = get_args(X264Preset)
ENCODERS: tuple[str, ...] = get_args(EncoderName)
TRACK_MODES: tuple[str, ...] = get_args(TrackMode)
SWITCHES: tuple[str, ...] = get_args(Switch)
CRF_RANGE = (0, 51)  # x264's scale; VP9 (WebM) takes the same numbers
# Encoding defaults of every command that writes video (run, batch, crop) and of the sinks.
DEFAULT_CRF = 18
DEFAULT_PRESET: X264Preset = "medium"
# Frames per model call. Memory grows with it (1 frame ≈ 5 MB at 256×256 through the
# model), so a cap keeps memory flat whatever the user types.
BATCH_SIZE_RANGE = (1, 64)
# Compute threads a job may ask for (--threads); the default follows the machine's share.
THREADS_RANGE = (1, 1024)
DEVICE_RE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")  # ASCII digits, as torch spells devices
# --smooth S: a strength relative to auto (1); beyond 10 the motion lags by many frames.
SMOOTH_STRENGTH_RANGE = (0.1, 10.0)
# --faces N: faces animated in one photo (memory grows linearly with it).
FACES_RANGE = (1, 32)
# The margin around a face, each side, as a fraction of its size (FOMM's crop rule): the
# source crop, the driving crop and ``animate crop`` all use it.
FACE_MARGIN = 0.1
# Side of ``animate crop``'s square clips, px: beyond 4096 x264 refuses or memory runs out.
CLIP_SIZE_RANGE = (16, 4096)
MIN_FACE_PX = 8.0  # --min-face: the smallest face any detector backend can report
# --align N: a frame index; past this no video we could read has the frame, and a longer
# string would not even be a number Python reads (its 4300-digit limit).
ALIGN_INDEX_MAX = 10**9


def is_count(text: str) -> bool:
    """True for a plain ASCII number such as ``12``: ``str.isdigit`` also accepts ``²``
    and other digits ``int`` cannot read."""
    return text.isascii() and text.isdigit()


def check_align(align: str, option: str = "--align") -> None:
    """`InputError` unless ``align`` is best, first or a frame index within range."""
    if align in ("best", "first"):
        return
    if not is_count(align):
        raise InputError(f"{option} {align!r}: use best, first or a frame index")
    if len(align.lstrip("0")) > len(str(ALIGN_INDEX_MAX)) or int(align) > ALIGN_INDEX_MAX:
        raise InputError(
            f"{option} {align[:30]}: frame index out of range (at most {ALIGN_INDEX_MAX})"
        )


def check_choice(value: str, allowed: tuple[str, ...], option: str) -> None:
    """`InputError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InputError(f"{option} {value!r}: use one of {', '.join(allowed)}")


def check_range(value: float, bounds: tuple[float, float], option: str) -> None:
    """`InputError` unless ``bounds[0] <= value <= bounds[1]``."""
    low, high = bounds
    if not low <= value <= high:
        raise InputError(f"{option} {value}: must be between {low} and {high}")


def check_at_least(value: float, low: float, option: str, unit: str = "") -> None:
    """`InputError` unless ``value`` is a finite number of at least ``low``."""
    if not (value >= low and math.isfinite(value)):
        floor = "0 or more" if low == 0 and not unit else f"at least {low:g}{unit}"
        raise InputError(f"{option} must be {floor}, got {value}")


def check_device(device: str) -> None:
    """`InputError` unless ``device`` is spelled auto, cpu, cuda or cuda:N (whether that
    device exists is known once torch is loaded)."""
    if not DEVICE_RE.fullmatch(device.strip().lower()):
        raise InputError(f"--device {device!r}: use auto, cpu, cuda or cuda:N")


def check_encoding(crf: int, preset: str) -> None:
    """The x264 settings every command that writes video takes (run, batch, crop)."""
    check_range(crf, CRF_RANGE, "--crf")
    check_choice(preset, X264_PRESETS, "--preset")


@dataclass(frozen=True)
class ModelOptions:
    """Which model to run and where."""

    checkpoint: Path | None = None  # None: $ANIMATE_CHECKPOINT, then the bundled model
    config: str | None = None  # official config name overriding the inferred one
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    fp16: bool = False  # autocast fp16 on CUDA
    cuda_graphs: bool = False  # replay the generate step from a CUDA graph (engine/graphs.py)
    align_corners: bool | None = None  # None: the checkpoint's own warp convention
    threads: int | None = None  # None: this process's share of the CPUs (threads.py)

    def __post_init__(self) -> None:
        if self.threads is not None:
            check_range(self.threads, THREADS_RANGE, "--threads")
        check_device(self.device)


@dataclass(frozen=True)
class ProvenanceOptions:
    """Which marks an output of ``run``, ``batch`` (and ``upscale``) carries
    (docs/provenance.md). ``crop`` writes the user's own footage and takes none of them.

    ``credentials``: C2PA Content Credentials in MP4 outputs and the "AI-generated" label in
    every container's metadata (both are metadata; off drops both). ``watermark``: the
    invisible mark in every frame's pixels. ``sign_cert``/``sign_key``: the user's PEM
    certificate chain and key; None for both: the self-made key in the config folder.
    """

    credentials: Switch = "on"
    watermark: Switch = "on"
    sign_cert: Path | None = None
    sign_key: Path | None = None

    def __post_init__(self) -> None:
        check_choice(self.credentials, SWITCHES, "--credentials")
        check_choice(self.watermark, SWITCHES, "--watermark")
        if (self.sign_cert is None) != (self.sign_key is None):
            raise InputError("--sign-cert and --sign-key go together: give both or neither")
        if self.credentials == "on":
            for option, path in (("--sign-cert", self.sign_cert), ("--sign-key", self.sign_key)):
                if path is not None and not Path(path).is_file():
                    raise InputError(f"{option} {path}: no such file")

    @property
    def signs(self) -> bool:
        """Whether metadata marks (credentials, label) are written."""
        return self.credentials == "on"

    @property
    def marks_pixels(self) -> bool:
        """Whether every frame gets the invisible watermark."""
        return self.watermark == "on"


@dataclass(frozen=True)
class AnimateOptions:
    """How one source is animated by one driving video and written out."""

    mode: MotionModeName = "relative"
    adapt_scale: bool = True
    align: str = "best"  # best | first | a frame index
    fit: FitMode = "crop"
    batch_size: int | None = None  # None: 1 on CPU (batching does not pay there), 8 on CUDA
    crf: int = DEFAULT_CRF
    preset: X264Preset = DEFAULT_PRESET
    encoder: EncoderName = "auto"
    overwrite: bool = False
    crop_source: CropSourceMode = "auto"
    crop_increase: float = FACE_MARGIN
    crop_driving: CropDrivingMode = "auto"  # feed the model the driving video's face crop
    paste_back: bool = False
    compare: bool = False  # source | driving | result side by side
    detector: DetectorKind = "auto"
    # off | auto | a strength S (auto is 1): One-Euro filtering of the driving keypoints.
    # On by default: on a jittery driving video it halves the keypoint jitter and the
    # output's flicker at under one frame of lag (README, Smoothing).
    smooth: str = "auto"
    # largest | all | N: the faces of the photo to animate; more than one are each cropped,
    # animated and pasted back into the full photo.
    faces: str = "largest"
    # off | 2 | 3 | 4: upscale the animated frames (Real-ESRGAN) before compositing.
    upscale: str = "off"
    # auto | animevideo | photo | anime | a .pth/.param file (docs/upscaling.md).
    upscaler: str = "auto"
    # The provenance marks of the output (credentials, label, watermark).
    provenance: ProvenanceOptions = field(default_factory=ProvenanceOptions)

    def __post_init__(self) -> None:
        check_choice(self.mode, MOTION_MODES, "--mode")
        check_align(self.align)
        check_choice(self.fit, FIT_MODES, "--fit")
        if self.batch_size is not None:
            check_range(self.batch_size, BATCH_SIZE_RANGE, "--batch-size")
        check_encoding(self.crf, self.preset)
        check_choice(self.encoder, ENCODERS, "--encoder")
        check_choice(self.crop_source, CROP_SOURCE_MODES, "--crop-source")
        check_choice(self.crop_driving, CROP_DRIVING_MODES, "--crop-driving")
        check_choice(self.detector, DETECTORS, "--detector")
        self.smoothing_strength()  # validates
        self.face_limit()  # validates
        self.upscale_options()  # validates
        if self.paste_back and self.compare:
            raise InputError("--paste-back cannot be combined with --compare")
        if self.faces != "largest" and self.compare:
            raise InputError(f"--faces {self.faces} cannot be combined with --compare")
        if self.faces != "largest" and self.crop_source == "off":
            raise InputError(f"--faces {self.faces} needs --crop-source auto")

    def smoothing_strength(self) -> float | None:
        """The ``--smooth`` strength: None for off, 1.0 for auto, else the number given."""
        if self.smooth == "off":
            return None
        if self.smooth == "auto":
            return 1.0
        try:
            strength = float(self.smooth)
        except ValueError:
            raise InputError(
                f"--smooth {self.smooth!r}: use off, auto or a strength such as 2"
            ) from None
        check_range(strength, SMOOTH_STRENGTH_RANGE, "--smooth")
        return strength

    def face_limit(self) -> int | None:
        """How many faces ``--faces`` asks for: 1 for largest, None for all, else N."""
        if self.faces == "largest":
            return 1
        if self.faces == "all":
            return None
        if not is_count(self.faces) or len(self.faces) > 6:
            if is_count(self.faces):  # too many digits to be a count of faces
                raise InputError(f"--faces {self.faces[:30]}: must be between 1 and 32")
            raise InputError(f"--faces {self.faces!r}: use largest, all or a number of faces")
        count = int(self.faces)
        check_range(count, FACES_RANGE, "--faces")
        return count

    def upscale_options(self) -> UpscaleOptions | None:
        """The ``--upscale``/``--upscaler`` request: None when ``--upscale off``. The
        upscaler is checked even when off, so a typo never waits for a later run."""
        scale = parse_upscale(self.upscale)
        upscaler = UpscaleOptions(upscaler=self.upscaler)
        return None if scale is None else UpscaleOptions(scale=scale, upscaler=upscaler.upscaler)

    def alignment_index(self) -> int | None:
        """The fixed frame index of ``--align N`` (None for best/first handled apart)."""
        if self.align in ("best", "first"):
            return None
        return int(self.align)


@dataclass(frozen=True)
class CropOptions:
    """How ``animate crop`` finds and writes face clips."""

    every: int | None = None  # None: `faces.default_stride` of the video's frame rate
    min_seconds: float = 1.0
    increase: float = FACE_MARGIN  # margin around the tube's union box, each side
    size: int = 256  # side of the square clips, even (yuv420p)
    min_score: float | None = None  # None: the detector's confident score
    min_face: float | None = None  # px; None: `faces.default_min_face` of the video
    track: TrackMode = "auto"
    smooth_seconds: float = 1.0  # moving-average length of a following crop
    detector: DetectorKind = "auto"
    device: str = "auto"  # torch device of face-alignment (auto | cpu | cuda | cuda:N)
    overwrite: bool = False
    crf: int = DEFAULT_CRF
    preset: X264Preset = DEFAULT_PRESET

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise `InputError` for values no run could use."""
        if self.every is not None and self.every < 1:
            raise InputError(f"--every must be 1 or more, got {self.every}")
        check_at_least(self.min_seconds, 0, "--min-seconds")
        check_at_least(self.increase, 0, "--increase")
        if self.min_score is not None and not math.isfinite(self.min_score):
            raise InputError(f"--min-score must be a finite number, got {self.min_score}")
        if self.min_face is not None:
            check_at_least(self.min_face, MIN_FACE_PX, "--min-face", " px")
        check_choice(self.track, TRACK_MODES, "--track")
        low, high = CLIP_SIZE_RANGE
        if not low <= self.size <= high or self.size % 2:
            raise InputError(f"--size must be an even number from {low} to {high}, got {self.size}")
        check_choice(self.detector, DETECTORS, "--detector")
        check_device(self.device)
        check_encoding(self.crf, self.preset)
