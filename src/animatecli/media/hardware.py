"""NVIDIA's video engines through the bundled ffmpeg: whether NVENC (encode) and NVDEC
(decode) work on this machine, and which encoder and decoder a job uses.

The bundled binary lists ``h264_nvenc`` and the ``cuda`` hwaccel everywhere, but they
need an NVIDIA GPU, its driver (``libcuda.so.1``) and, for NVENC, a GPU that has the
engine (data-centre parts such as the A100, H100 and H200 have NVDEC but no NVENC). So
each is probed with a real one-frame encode or decode, once per process and GPU; a
failed probe keeps ffmpeg's own one-line reason.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from animatecli.errors import DeviceError, InputError
from animatecli.media._ffmpeg import error_lines, error_reason, ffmpeg_path, run_ffmpeg
from animatecli.options import EncoderName
from animatecli.paths import OutputKind, output_kind

__all__ = [
    "H264_EXTENSIONS",
    "CodecChoice",
    "HardwareProbe",
    "choose_decoder",
    "choose_encoder",
    "cuda_index",
    "probe_nvdec",
    "probe_nvenc",
]

# Outputs written as H.264, where --encoder applies (WebM is VP9, GIFs and PNGs neither).
H264_EXTENSIONS = (".mp4", ".mov", ".mkv")
# Small enough to be instant, above NVENC's and NVDEC's minimum frame sizes.
_PROBE_SOURCE = ["-f", "lavfi", "-i", "color=c=gray:s=256x256:r=25"]


@dataclass(frozen=True)
class HardwareProbe:
    """Whether a hardware engine worked in a real one-frame run, and if not, why."""

    available: bool
    reason: str = ""  # ffmpeg's first error line when not available


def _probe(args: list[str]) -> HardwareProbe:
    proc = run_ffmpeg(["-v", "error", *args])
    if proc.returncode == 0:
        return HardwareProbe(True)
    stderr = proc.stderr.decode("utf-8", errors="replace")
    # The first line names the cause ("Cannot load libcuda.so.1"); ffmpeg's later lines
    # are consequences of it ("Error while opening encoder", "Nothing was written").
    lines = error_lines(stderr)
    return HardwareProbe(False, lines[0][:200] if lines else error_reason(stderr))


@functools.cache
def probe_nvenc(gpu: int = 0) -> HardwareProbe:
    """Encode one frame with ``h264_nvenc`` on CUDA device ``gpu`` (cached per process)."""
    return _probe(
        [*_PROBE_SOURCE, "-frames:v", "1", "-c:v", "h264_nvenc", "-gpu", str(gpu),
         "-f", "null", "-"]
    )  # fmt: skip


@functools.cache
def probe_nvdec(gpu: int = 0) -> HardwareProbe:
    """Decode one H.264 frame with ``-hwaccel cuda`` on device ``gpu`` (cached per process).

    The frame is encoded first with libx264: the lavfi source itself has no decoder.
    """
    with tempfile.TemporaryDirectory(prefix="animatecli-nvdec-") as folder:
        sample = Path(folder) / "probe.h264"
        made = run_ffmpeg(
            ["-v", "error", *_PROBE_SOURCE, "-frames:v", "1", "-c:v", "libx264",
             "-pix_fmt", "yuv420p", "-f", "h264", ffmpeg_path(sample)]
        )  # fmt: skip
        if made.returncode != 0:
            return HardwareProbe(False, error_reason(made.stderr.decode("utf-8", "replace")))
        return _probe(
            ["-hwaccel", "cuda", "-hwaccel_device", str(gpu), "-i", ffmpeg_path(sample),
             "-f", "null", "-"]
        )  # fmt: skip


def cuda_index(device: str) -> int | None:
    """The CUDA device number of a device name (``cuda`` is 0, ``cuda:N`` is N), None for
    anything else (``cpu``, or ``auto`` before it is resolved)."""
    name = device.strip().lower()
    if name == "cuda":
        return 0
    if name.startswith("cuda:") and name[5:].isascii() and name[5:].isdigit():
        return int(name[5:])
    return None


@dataclass(frozen=True)
class CodecChoice:
    """A job's encoder or decoder: NVIDIA's engine on ``gpu``, or software (``gpu`` None)."""

    gpu: int | None
    reason: str  # why, for --verbose and --json

    @property
    def hardware(self) -> bool:
        return self.gpu is not None


def choose_encoder(requested: EncoderName, device: str, output: str | Path) -> CodecChoice:
    """The H.264 encoder of a job on ``device`` (``cpu``, ``cuda``, ``cuda:N``) writing
    ``output``, as ``--encoder`` asks.

    ``auto`` takes NVENC when the job runs on CUDA and NVENC works on that GPU, else
    libx264, without a word (the reason says which and why). ``nvenc`` where NVENC does
    not work raises `DeviceError`, and for an output that is not H.264 `InputError`.
    """
    gpu = cuda_index(device)
    kind = output_kind(output)
    if kind is not OutputKind.VIDEO or Path(output).suffix.lower() not in H264_EXTENSIONS:
        if requested == "nvenc":
            raise InputError(
                f"--encoder nvenc writes H.264: {output} is not an .mp4, .mov or .mkv output"
            )
        return CodecChoice(None, "--encoder applies to H.264 outputs (.mp4, .mov, .mkv)")
    if requested == "x264":
        return CodecChoice(None, "--encoder x264")
    if requested == "auto" and gpu is None:
        return CodecChoice(None, "auto: the job runs on the CPU")
    target = gpu or 0
    probe = probe_nvenc(target)
    if not probe.available:
        if requested == "nvenc":
            raise DeviceError(f"--encoder nvenc: NVENC does not work here ({probe.reason})")
        return CodecChoice(None, f"auto: NVENC unavailable ({probe.reason})")
    asked = "--encoder nvenc" if requested == "nvenc" else "auto"
    return CodecChoice(target, f"{asked}: NVENC works on cuda:{target}")


def choose_decoder(device: str) -> CodecChoice:
    """The driving video's decoder for a job on ``device``: NVDEC (``-hwaccel cuda``) on
    that GPU when the probe decode works there, else software. CPU jobs never probe."""
    gpu = cuda_index(device)
    if gpu is None:
        return CodecChoice(None, "the job runs on the CPU")
    probe = probe_nvdec(gpu)
    if not probe.available:
        return CodecChoice(None, f"NVDEC unavailable ({probe.reason})")
    return CodecChoice(gpu, f"NVDEC works on cuda:{gpu}")
