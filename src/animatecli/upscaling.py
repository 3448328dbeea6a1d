"""The upscaling stage: load the chosen Real-ESRGAN model and upscale an image or a
video file to an output path.

It sits beside ``pipeline`` rather than in ``media``: it joins the engine (torch) to the
media I/O, and ``media`` stays free of torch. Videos stream: frames are decoded, upscaled
a few at a time and encoded as they come (never the whole video in memory); the frame
rate and the sound are kept, the rotation tag is honoured (frames arrive upright), and
the output appears only when complete (the media sinks' temporaries and atomic commit).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from animatecli.atomic import commit, remove_stale_temporaries, temp_sibling
from animatecli.engine.upscale import UpscaleNet, Upscaler, load_ncnn, load_pth
from animatecli.engine.upscale.nets import UpscalerConfig
from animatecli.errors import InputError, OutputError
from animatecli.media import VideoReader, load_image, open_sink, probe_video
from animatecli.options import ProvenanceOptions
from animatecli.paths import check_file_output, check_output_path
from animatecli.progress import Reporter, SilentReporter
from animatecli.runtime.marks import OutputMarks
from animatecli.upscale_options import (
    NetShape,
    ResolvedUpscaler,
    UpscaleOptions,
    estimate_seconds_per_frame,
    long_job_warning,
    resolve_upscaler,
)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# Pillow format of each still output (lossless where the format allows).
_IMAGE_SAVE = {
    ".png": ("PNG", {}),
    ".jpg": ("JPEG", {"quality": 95}),
    ".jpeg": ("JPEG", {"quality": 95}),
    ".webp": ("WEBP", {"lossless": True}),
    ".bmp": ("BMP", {}),
    ".tif": ("TIFF", {}),
    ".tiff": ("TIFF", {}),
}
DEFAULT_BATCH = 4  # frames per network call (the tiling budget covers the whole batch)


def net_shape(config: UpscalerConfig) -> NetShape:
    """The cost-relevant shape of a loaded network (for the estimate)."""
    return NetShape(
        config.kind,
        config.convs,
        config.net_scale,
        config.features,
        config.growth,
        config.in_channels,
        config.unshuffle,
    )


def load_net(resolved: ResolvedUpscaler) -> UpscaleNet:
    """The network of a resolved choice, set to its requested output scale."""
    net = load_ncnn(*resolved.files) if resolved.is_ncnn else load_pth(resolved.files[0])
    own = net.config.net_scale
    if resolved.scale > own:
        raise InputError(f"{resolved.name} is a ×{own} model; use --scale {own} or less")
    if resolved.scale != net.config.output_scale:
        net.config = net.config.with_output_scale(resolved.scale)
    return net


def load_upscaler(
    resolved: ResolvedUpscaler, *, device: str = "cpu", tile: int | None = None
) -> Upscaler:
    """An :class:`Upscaler` for a resolved choice on ``device`` (float16 on CUDA)."""
    return Upscaler(load_net(resolved), device=device, tile=tile)


@dataclass(frozen=True)
class UpscaleResult:
    """What :func:`upscale_file` wrote."""

    output: Path
    model: str
    scale: int
    frames: int
    width: int
    height: int
    audio_kept: bool
    provenance: dict[str, Any] | None = None  # the marks (`runtime.marks.OutputMarks`)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _check_image_output(output: Path, source: Path, overwrite: bool) -> None:
    if output.suffix.lower() not in _IMAGE_SAVE:
        raise InputError(
            f"output {output}: an image upscales to an image ({', '.join(_IMAGE_SAVE)})"
        )
    check_file_output(output, overwrite, inputs=(source,))


def save_image(
    output: Path, pixels: np.ndarray, *, overwrite: bool, label: str | None = None
) -> None:
    """Write H×W×3 uint8 RGB to ``output`` through a hidden temporary (atomic); a PNG
    carries the AI-generated ``label`` (the model it names) when one is given."""
    kind, settings = _IMAGE_SAVE[output.suffix.lower()]
    if label is not None and kind == "PNG":
        from animatecli.provenance.label import png_text

        settings = {**settings, "pnginfo": png_text(label or None)}
    temp = temp_sibling(output, output.suffix.lower())
    try:
        Image.fromarray(np.ascontiguousarray(pixels)).save(temp, format=kind, **settings)
        commit(temp, output, overwrite=overwrite)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _batches(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def upscale_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: UpscaleOptions | None = None,
    *,
    device: str = "cpu",
    overwrite: bool = False,
    reporter: Reporter | None = None,
    batch: int = DEFAULT_BATCH,
    tile: int | None = None,
    crf: int | None = None,
    preset: str | None = None,
    provenance: ProvenanceOptions | None = None,
) -> UpscaleResult:
    """Upscale the image or video ``source`` into ``output``.

    An image (by extension) goes to an image; a video to a video file, a GIF or a folder
    of PNG frames (whatever the output path names, as for ``animate run``), with the
    source's frame rate and, for video files, its sound. A job estimated to run over an
    hour is announced through ``reporter.notice`` before it starts, and so is the model
    ``auto`` picked. Errors are one-line :class:`~animatecli.errors.AnimateError`s; a
    failed or interrupted run leaves no output behind. ``provenance`` marks the output as
    a job's are (the watermark on every frame, the label, credentials on MP4s; none when
    None): an upscaled video is still a made one.
    """
    options = options or UpscaleOptions()
    reporter = reporter or SilentReporter()
    # The output as typed: a trailing "/" asks for a folder of PNG frames.
    target = os.fspath(output)
    source, output = Path(source), Path(output)
    cuda = torch.device(device).type == "cuda"
    if _is_image(source):
        pixels = load_image(source)
        _check_image_output(output, source, overwrite)
        height, width = pixels.shape[:2]
        frame_count = 1
    else:
        info = probe_video(source)
        check_output_path(target, overwrite, inputs=(source,))  # before the model loads
        height, width = info.height, info.width
        frame_count = info.frame_count_hint or 1
    resolved = resolve_upscaler(options, cuda=cuda, frames=frame_count, height=height, width=width)
    if resolved.reason:
        reporter.notice(resolved.reason)
    upscaler = load_upscaler(resolved, device=device, tile=tile)
    seconds = estimate_seconds_per_frame(net_shape(upscaler.config), height, width, cuda=cuda)
    warning = long_job_warning(seconds, frame_count, resolved.name)
    if warning:
        reporter.notice(warning)
    scale = upscaler.scale
    marks = OutputMarks.plan(
        provenance or ProvenanceOptions(credentials="off", watermark="off"),
        output,
        {"family": "real-esrgan", "path": resolved.name},
        (("input", source),),
    )
    if _is_image(source):
        reporter.start("upscale", 1)
        result = upscaler.upscale_uint8(torch.from_numpy(np.array(pixels))[None])[0].numpy()
        save_image(output, marks.mark(result), overwrite=overwrite, label=marks.label)
        reporter.advance()
        reporter.finish()
        return UpscaleResult(
            output,
            resolved.name,
            scale,
            1,
            width * scale,
            height * scale,
            audio_kept=False,
            provenance=marks.to_dict(),
        )
    encoding = {
        name: value for name, value in (("crf", crf), ("preset", preset)) if value is not None
    }
    return _upscale_video(
        source, target, upscaler, resolved.name, overwrite, reporter, batch, encoding, marks
    )


def _upscale_video(
    source: Path,
    target: str,
    upscaler: Upscaler,
    name: str,
    overwrite: bool,
    reporter: Reporter,
    batch: int,
    encoding: dict[str, Any],
    marks: OutputMarks,
) -> UpscaleResult:
    info = probe_video(source)
    output = Path(target)
    scale = upscaler.scale
    width, height = info.width * scale, info.height * scale
    remove_stale_temporaries(Path(os.path.abspath(output)))
    if output.exists() and os.path.samefile(source, output):
        raise OutputError(f"output {output} is the input file; choose another output name")
    frames = 0
    with VideoReader(source, info=info) as reader:
        sink = open_sink(
            target,
            width,
            height,
            info.fps,
            audio_from=source,
            overwrite=overwrite,
            label=marks.label,
            seal=marks.seal,
            **encoding,
        )
        with sink:
            reporter.start("upscale", info.frame_count_hint)
            for group in _batches(iter(reader), batch):
                stacked = torch.from_numpy(np.stack(group))
                for frame in upscaler.upscale_uint8(stacked).numpy():
                    sink.write(marks.mark(frame))
                frames += len(group)
                reporter.advance(len(group))
        reporter.finish()
    audio_kept = bool(getattr(sink, "audio_kept", False))
    return UpscaleResult(
        output, name, scale, frames, width, height, audio_kept, provenance=marks.to_dict()
    )
