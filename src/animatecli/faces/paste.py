"""Paste an animated face crop back into the full-resolution source image.

The model animates a square crop (typically 256×256); the user wants their whole photo back.
`PasteBack` resizes each animated crop to the crop box, blends it in with a feathered mask so
no seam shows, and leaves every pixel outside the box byte-identical to the source.
"""

from __future__ import annotations

import math

import numpy as np


def _ramp(n: int, width: float, fade_start: bool, fade_end: bool) -> np.ndarray:
    """1-D raised-cosine profile over ``n`` pixels, float32 in [0, 1].

    Pixel ``i`` sits at distance ``i + 0.5`` from the start edge (pixel centres), so even the
    outermost pixel gets a small non-zero weight and the ramp is symmetric. Within ``width``
    pixels of a faded edge the weight rises as ``(1 - cos(pi * d / width)) / 2``, a curve with
    zero slope at both ends, which hides the seam better than a linear ramp.
    """
    d = np.arange(n, dtype=np.float64) + 0.5
    dist = np.full(n, np.inf)
    if fade_start:
        dist = np.minimum(dist, d)
    if fade_end:
        dist = np.minimum(dist, n - d)
    t = np.clip(dist / width, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(math.pi * t)).astype(np.float32)


def feather_mask(
    box: tuple[int, int, int, int], image_hw: tuple[int, int], feather: float
) -> np.ndarray:
    """``bh×bw`` float32 weights in [0, 1] of the box ``(x0, y0, x1, y1)``: 1 inside, fading
    over ``feather`` × its shorter side towards the edges that lie inside the image."""
    x0, y0, x1, y1 = box
    h, w = image_hw
    bw, bh = x1 - x0, y1 - y0
    width = feather * min(bw, bh)
    if width <= 0:
        return np.ones((bh, bw), dtype=np.float32)
    # Separable: the product of a horizontal and a vertical ramp, each faded only on the
    # sides that are inside the image (there is no source pixel beyond the others).
    ax = _ramp(bw, width, fade_start=x0 > 0, fade_end=x1 < w)
    ay = _ramp(bh, width, fade_start=y0 > 0, fade_end=y1 < h)
    return ay[:, None] * ax[None, :]


class PasteBack:
    """Blend animated crops into a fixed source image at a fixed box.

    Args:
        full_image: H×W×3 uint8 source (RGB or BGR, it is never converted).
        box: ``(x0, y0, x1, y1)`` half-open int crop box inside the image, e.g. from
            `animatecli.faces.boxes.square_crop_box`.
        feather: ramp width as a fraction of the box's shorter side (0 = hard paste). Edges on
            the image border are not faded: there is no source pixel beyond them to fade into.

    Output frames are ``output_size`` = (H, W) rounded down to even numbers, because yuv420p
    (the H.264 format every player takes) subsamples chroma 2×2 and needs even dimensions;
    an odd last row/column of the source is dropped rather than padded, so no invented pixels
    appear.
    """

    def __init__(
        self, full_image: np.ndarray, box: tuple[int, int, int, int], feather: float = 0.1
    ) -> None:
        if full_image.ndim != 3 or full_image.shape[2] != 3 or full_image.dtype != np.uint8:
            raise ValueError(
                f"expected an H×W×3 uint8 image, got {full_image.shape} {full_image.dtype}"
            )
        h, w = full_image.shape[:2]
        x0, y0, x1, y1 = (int(v) for v in box)
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"box {box} is not a non-empty box inside the {w}×{h} image")
        if feather < 0:
            raise ValueError("feather must be >= 0")
        self.box = (x0, y0, x1, y1)
        self.feather = feather
        oh, ow = h - h % 2, w - w % 2
        if oh == 0 or ow == 0:
            raise ValueError(f"image {w}×{h} is too small for an even-sized output")
        self._output_size = (oh, ow)
        # The region actually written: the box clipped to the even-sized output.
        self._region = (x0, y0, min(x1, ow), min(y1, oh))
        rx0, ry0, rx1, ry1 = self._region
        self._writes = rx1 > rx0 and ry1 > ry0

        mask = feather_mask(self.box, (h, w), feather)
        self.mask: np.ndarray = mask  # bh×bw float32 in [0, 1]
        self._alpha = mask[: ry1 - ry0, : rx1 - rx0, None]

        self._source = np.ascontiguousarray(full_image[:oh, :ow])
        # Only the box region changes from frame to frame: keep one output buffer and
        # rewrite just that region instead of copying the whole image per frame.
        self._out = self._source.copy()
        self._src_region = self._source[ry0:ry1, rx0:rx1].astype(np.float32)

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the pasted frames, both even."""
        return self._output_size

    @property
    def crop_size(self) -> tuple[int, int]:
        """(height, width) of the box, what incoming crops are resized to."""
        x0, y0, x1, y1 = self.box
        return (y1 - y0, x1 - x0)

    def paste(self, crop: np.ndarray, copy: bool = True) -> np.ndarray:
        """Blend one animated crop into the source.

        Args:
            crop: h×w×3 uint8 of any size; resized to the box (area filter when shrinking,
                bicubic when enlarging). Same channel order as the source.
            copy: return a fresh array (default). With False the internal buffer is returned:
                faster for a synchronous encoder, but overwritten by the next call.

        Returns:
            ``output_size`` × 3 uint8; pixels outside the box equal the source exactly.
        """
        import cv2

        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            raise ValueError(f"expected an h×w×3 uint8 crop, got {crop.shape} {crop.dtype}")
        bh, bw = self.crop_size
        ch, cw = crop.shape[:2]
        if (ch, cw) != (bh, bw):
            shrinking = ch * cw > bh * bw
            interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
            crop = cv2.resize(crop, (bw, bh), interpolation=interp)
        if self._writes:
            rx0, ry0, rx1, ry1 = self._region
            part = crop[: ry1 - ry0, : rx1 - rx0].astype(np.float32)
            # src + alpha * (crop - src): alpha 0 gives the source value exactly, alpha 1 the
            # crop exactly, so unchanged content round-trips bit for bit.
            blended = self._src_region + self._alpha * (part - self._src_region)
            np.clip(np.rint(blended), 0, 255, out=blended)
            self._out[ry0:ry1, rx0:rx1] = blended.astype(np.uint8)
        return self._out.copy() if copy else self._out


class GroupPasteBack:
    """Blend several animated crops (the faces of a group photo) into one source image.

    Each box gets `PasteBack`'s feathered mask. Where boxes overlap, the crops are averaged
    with those masks as weights, and the result is blended over the source with the
    largest mask there: both vary smoothly across every box edge, so overlapping crops
    meet without a seam. Pixels outside every box stay byte-identical to the source.
    Output frames have `PasteBack`'s even ``output_size``.

    Memory: one mask per box, plus three maps over the boxes' bounding rectangle.
    """

    def __init__(
        self, full_image: np.ndarray, boxes: list[tuple[int, int, int, int]], feather: float = 0.1
    ) -> None:
        if not boxes:
            raise ValueError("at least one box is needed")
        # PasteBack validates the image and each box, and knows the even output size.
        oh, ow = PasteBack(full_image, boxes[0], feather).output_size
        self._output_size = (oh, ow)
        h, w = full_image.shape[:2]
        self.boxes = [tuple(int(v) for v in box) for box in boxes]
        x0, y0 = min(b[0] for b in self.boxes), min(b[1] for b in self.boxes)
        x1 = min(max(b[2] for b in self.boxes), ow)
        y1 = min(max(b[3] for b in self.boxes), oh)
        self._region = (x0, y0, x1, y1)
        self._masks = [feather_mask(box, (h, w), feather) for box in self.boxes]  # type: ignore[arg-type]
        total = np.zeros((y1 - y0, x1 - x0), np.float32)
        alpha = np.zeros_like(total)
        for box, mask in zip(self.boxes, self._masks, strict=True):
            window, part = self._window(box, mask)
            total[window] += part
            np.maximum(alpha[window], part, out=alpha[window])
        self._total = np.where(total > 0, total, 1.0)
        self._alpha = alpha[..., None]
        self._out = np.ascontiguousarray(full_image[:oh, :ow]).copy()
        self._src_region = self._out[y0:y1, x0:x1].astype(np.float32)

    def _window(
        self, box: tuple[int, ...], values: np.ndarray
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """Where ``box`` lies in the bounding rectangle, and ``values`` (box-sized) cut to it."""
        x0, y0, x1, y1 = self._region
        bx0, by0, bx1, by1 = box
        bx1, by1 = min(bx1, x1), min(by1, y1)
        window = (slice(by0 - y0, by1 - y0), slice(bx0 - x0, bx1 - x0))
        return window, values[: by1 - by0, : bx1 - bx0]

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the pasted frames, both even (see `PasteBack`)."""
        return self._output_size

    def paste(self, crops: list[np.ndarray]) -> np.ndarray:
        """Blend one animated crop per box (``h×w×3`` uint8, any size, resized to its box)
        into a fresh copy of the source; returns ``output_size`` × 3 uint8."""
        import cv2

        if len(crops) != len(self.boxes):
            raise ValueError(f"{len(crops)} crops for {len(self.boxes)} boxes")
        x0, y0, x1, y1 = self._region
        mixed = np.zeros_like(self._src_region)
        for crop, box, mask in zip(crops, self.boxes, self._masks, strict=True):
            bh, bw = mask.shape
            if crop.shape[:2] != (bh, bw):
                shrinking = crop.shape[0] * crop.shape[1] > bh * bw
                interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
                crop = cv2.resize(crop, (bw, bh), interpolation=interp)
            weighted = crop.astype(np.float32) * mask[..., None]
            window, part = self._window(box, weighted)
            mixed[window] += part
        mixed /= self._total[..., None]
        # src + alpha · (mix − src): alpha 0 gives the source value exactly.
        blended = self._src_region + self._alpha * (mixed - self._src_region)
        np.clip(np.rint(blended), 0, 255, out=blended)
        self._out[y0:y1, x0:x1] = blended.astype(np.uint8)
        return self._out.copy()
