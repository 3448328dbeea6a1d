"""The driving video as the model sees it: decoded through the runtime's decoder, each
frame fitted (or face-cropped) to the model's frame shape, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import media
from ..faces import CropPath


def in_batches(items: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Consecutive lists of ``size`` items, the last one shorter (for the alignment pass
    and the animate stage alike)."""
    batch: list[np.ndarray] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def open_reader(
    info: media.VideoInfo, decoder: media.CodecChoice, stop: int | None = None
) -> media.VideoReader:
    """A reader of the driving video through ``decoder`` (the probed ``info`` spares the
    reader a second probe of the file)."""
    return media.VideoReader(info.path, stop=stop, info=info, nvdec_gpu=decoder.gpu)


def decoded_frames(info: media.VideoInfo, decoder: media.CodecChoice) -> Iterator[np.ndarray]:
    """The driving frames at full size, H×W×3 uint8 (the reader closes when the consumer
    stops)."""
    with open_reader(info, decoder) as reader:
        yield from reader


def crop_to_model(
    frame: np.ndarray, box: tuple[int, int, int, int], frame_hw: tuple[int, int]
) -> np.ndarray:
    """The square ``box`` of ``frame`` (H×W×3 uint8) resized to ``frame_hw``."""
    x0, y0, x1, y1 = box
    return media.fit_image(frame[y0:y1, x0:x1], frame_hw, "stretch")


@dataclass
class DecodeStats:
    """What the decoder reported once the stream was read: the errors ffmpeg logged while
    concealing damaged data (`media.VideoReader.decode_errors`)."""

    errors: int = 0


def fitted_frames(
    info: media.VideoInfo,
    decoder: media.CodecChoice,
    frame_hw: tuple[int, int],
    fit: media.FitMode,
    stop: int | None = None,
    crop: CropPath | None = None,
    stats: DecodeStats | None = None,
) -> Iterator[np.ndarray]:
    """Driving frames as the model sees them (h×w×3 uint8 at ``frame_hw``): the face crop
    ``crop`` of each frame, or the whole frame fitted by ``fit``; ``stats`` receives the
    decoder's error count when the reader closes."""
    reader = open_reader(info, decoder, stop)
    try:
        with reader:
            for index, frame in enumerate(reader):
                if crop is None:
                    yield media.fit_image(frame, frame_hw, fit)
                else:
                    yield crop_to_model(frame, crop.box_at(index), frame_hw)
    finally:
        if stats is not None:
            stats.errors = reader.decode_errors
