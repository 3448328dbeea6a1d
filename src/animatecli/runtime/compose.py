"""The compose stage: each output frame made from the driving frame and the prediction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import faces, media
from ..errors import InputError
from ..options import AnimateOptions
from .source import PreparedImage

# (driving frame as fitted h×w×3, prediction h×w×3 or F×h×w×3 for a group) → output frame,
# all uint8.
Composer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def composer(
    source: PreparedImage,
    options: AnimateOptions,
    frame_hw: tuple[int, int],
    group_faces: Sequence[PreparedImage] = (),
    scale: int = 1,
) -> tuple[Composer, tuple[int, int]]:
    """The function making each output frame, and the output (width, height); with
    ``--faces all|N`` the prediction holds one crop per face of ``group_faces``.

    ``scale``: the predictions arrive upscaled by this factor (``--upscale``): pasted back
    they are resized to the crop box's native size; otherwise the output is ``scale``
    times the model's size, and ``--compare``'s other panels are resized to match."""
    h, w = frame_hw
    if options.paste_back or options.faces != "largest":
        # The output is the photo's own size rounded down to even sides (yuv420p).
        full_h, full_w = source.full.shape[:2]
        if full_h < 2 or full_w < 2:
            option = "--paste-back" if options.paste_back else f"--faces {options.faces}"
            raise InputError(
                f"{option} writes the photo's own size, and {full_w}×{full_h} px is too "
                "small for a video (at least 2×2); drop the option to animate it at the "
                "model's size"
            )
    if options.faces != "largest":
        group = faces.GroupPasteBack(source.full, [face.box for face in group_faces])
        out_h, out_w = group.output_size
        return (lambda _drv, preds: group.paste(list(preds))), (out_w, out_h)
    if options.paste_back:
        paste = faces.PasteBack(source.full, source.box)
        out_h, out_w = paste.output_size
        full_h, full_w = source.full.shape[:2]
        if options.fit == "pad" and source.box == (0, 0, full_w, full_h):
            # The model saw the whole photo letterboxed: paste back only the part of
            # the prediction that shows the photo, not the bars.
            dx0, dy0, dx1, dy1 = (
                v * scale for v in media.fit_geometry((full_h, full_w), (h, w), "pad").dst_box
            )
            return (lambda _drv, pred: paste.paste(pred[dy0:dy1, dx0:dx1])), (out_w, out_h)
        return (lambda _drv, pred: paste.paste(pred)), (out_w, out_h)
    if options.compare:
        src = _enlarged(source.model_input, scale)
        return (lambda drv, pred: np.concatenate([src, _enlarged(drv, scale), pred], axis=1)), (
            3 * w * scale,
            h * scale,
        )
    return (lambda _drv, pred: pred), (w * scale, h * scale)


def _enlarged(frame: np.ndarray, scale: int) -> np.ndarray:
    """``frame`` (h×w×3 uint8) resized bicubically to ``scale`` times its size, so the
    panels of ``--compare --upscale`` keep one height."""
    if scale == 1:
        return frame
    import cv2

    h, w = frame.shape[:2]
    return cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
