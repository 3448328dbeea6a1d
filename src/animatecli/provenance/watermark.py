"""An invisible watermark in every frame's luma, detected over 1-second windows.

Design (no secret key: anyone with this code can detect it, and remove it with effort; it
is a label that survives common edits, not a defence against a determined attack):

* One 64×64 tile of luma offsets, repeated over the whole frame from its top-left corner.
  The tile is built in the Fourier domain from a fixed pseudo-random set of LOW spatial
  frequencies (2 to 9 cycles per tile: periods of 7 to 32 px), which survive H.264 at
  CRF 28, yuv420p and scaling to half size. Every used frequency carries a fixed
  pseudo-random phase; 60% of them form a SYNC pattern, the rest carry the 40 payload
  bits (a 16-bit tool mark, a 16-bit output id and its CRC-8), each bit flipping the sign of its own
  frequencies.
* Embedding adds the same offset to R, G and B (luma only, chroma untouched), with an RMS
  amplitude giving PSNR > 40 dB: one add and clip per frame, streamed.
* Detection folds every frame's luma (minus an edge-preserving smoothing of itself, each
  pixel weighted by the inverse of its local variance) into one tile-sized accumulator
  summed over all tiles and all frames of a window: content averages out, the mark adds up.
  The accumulator's spectrum is whitened (phase only) on the used frequencies and
  correlated with the known part of the mark (sync and tool-mark frequencies) over all
  64×64 cyclic shifts at once, which makes it insensitive to cropping and translation;
  a few scales are tried for resized copies. The
  peak, in units of its standard deviation under "no mark" (a z-score), is the detection
  statistic; the bits are read at the peak's shift.
* Two families of hypotheses are tested, each with its own threshold, so that the chance of
  a false detection in a window stays under 1 in 1,000 in all: the tile anywhere
  (`Z_THRESHOLD`, 64²×8 shifts and scales: crops, translations) and the tile in place at
  the frame's origin (`Z_THRESHOLD_IN_PLACE`, 8 scales: the copy untouched, re-encoded or
  resized as a whole, the most common edits). Testing 8 hypotheses instead of 32,768
  lowers the bar for resized copies, where small frames lose most of the mark
  (scripts/bench_watermark.py, docs/provenance.md). The payload is read from
  the soft bit sums of all detected windows; the output id is reported only when its CRC-8
  matches (``payload_ok``), which is not a condition of detection.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

# A 64-px tile: a 128×128 output (the bundled model's size) holds 4 of them, and still a
# whole tile after scaling to half size (64×64) or cropping 10% off each side (102×102);
# a 128-px tile left less than one there, and 0/5 windows were detected.
TILE = 64
# Used frequencies: radius (cycles per tile) in [BAND_LOW, BAND_HIGH]: periods 7 to 32 px,
# 3.5 to 16 px after scaling to half size (higher ones do not survive half size + CRF 28 at
# 64×64; lower ones are where content is strongest).
BAND_LOW, BAND_HIGH = 2.0, 9.0
TOOL_MARK = 0xA5C3  # 16 bits, fixed: "made by animatecli"
TOOL_BITS = 16
ID_BITS = 16
# A CRC-8 of the output id: a misread id is caught (all but 1 in 256 of them) instead of
# being reported.
CHECK_BITS = 8
PAYLOAD_BITS = TOOL_BITS + ID_BITS + CHECK_BITS
# Share of the frequencies given to the sync pattern (the detection statistic); the rest
# carry the payload, which is read over all the windows where the mark is detected.
SYNC_FRACTION = 0.6
# RMS of the added luma offset (0-255 scale): 2.45 gives PSNR 40.3 dB on mid-grey (rounding
# included), more where clipping at 0/255 removes some of it.
AMPLITUDE = 2.45
# The pattern's seed: fixed forever (changing it orphans every mark made before).
PATTERN_SEED = 0x616E696D  # "anim"
# Detection thresholds on the z-score of the known part (sync + tool mark), one per family
# of hypotheses; under "no mark" each hypothesis's z-score is close to a standard normal, so
# a window's false-detection chance is at most 64²·8·P(z ≥ 5.5) + 8·P(z ≥ 4.0) = 6.2·10⁻⁴ +
# 2.5·10⁻⁴ (calibration: docs/provenance.md).
Z_THRESHOLD = 5.5  # the tile at any of the 64² cyclic shifts, at any scale tried
Z_THRESHOLD_IN_PLACE = 4.0  # the tile at the frame's origin (shift 0), at any scale tried
# The two families' names in reports.
ANY_SHIFT, IN_PLACE = "any shift", "in place"
# Scale factors tried for resized copies: received size / marked size.
SCALES: tuple[float, ...] = (1.0, 0.5, 0.75, 2 / 3, 0.8, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class _Layout:
    """The used frequencies and their roles: arrays of length n_bins."""

    u: np.ndarray  # vertical frequency index (0..TILE-1)
    v: np.ndarray  # horizontal frequency index
    phase: np.ndarray  # fixed pseudo-random phase, radians
    role: np.ndarray  # -1 = sync, else the payload bit index


def _make_layout() -> _Layout:
    rng = np.random.default_rng(PATTERN_SEED)
    us, vs = [], []
    for u in range(TILE):
        for v in range(TILE // 2 + 1):
            fu = u if u <= TILE // 2 else u - TILE
            # One of each Hermitian pair (v > 0; the v == 0 column would count half in
            # the real transforms), no Nyquist row/column.
            if v == 0 or abs(fu) == TILE // 2 or v == TILE // 2:
                continue
            if BAND_LOW <= math.hypot(fu, v) <= BAND_HIGH:
                us.append(u)
                vs.append(v)
    order = rng.permutation(len(us))
    u = np.asarray(us)[order]
    v = np.asarray(vs)[order]
    n_sync = round(len(u) * SYNC_FRACTION)
    role = np.full(len(u), -1)
    role[n_sync:] = np.arange(len(u) - n_sync) % PAYLOAD_BITS
    phase = rng.uniform(0, 2 * np.pi, len(u))
    return _Layout(u, v, phase, role)


_LAYOUT = _make_layout()


def crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07) of a 16-bit value, big-endian."""
    crc = 0
    for byte in value.to_bytes(2, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def payload_bits(output_id: int) -> np.ndarray:
    """The 40 payload bits (0/1, most significant first): 16-bit tool mark, 16-bit output
    id, CRC-8 of the id."""
    if not 0 <= output_id < 1 << ID_BITS:
        raise ValueError(f"output id must fit in {ID_BITS} bits, got {output_id}")
    word = (((TOOL_MARK << ID_BITS) | output_id) << CHECK_BITS) | crc8(output_id)
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)])


def _known_signs() -> np.ndarray:
    """Per frequency: +1 for sync, ±1 for the tool-mark bits (known to the detector), 0 for
    the output id's bits."""
    signs = np.zeros(len(_LAYOUT.role))
    signs[_LAYOUT.role < 0] = 1.0
    tool = payload_bits(0)[:TOOL_BITS]
    for bit in range(TOOL_BITS):
        signs[_LAYOUT.role == bit] = 2.0 * tool[bit] - 1.0
    return signs


_KNOWN_SIGN = _known_signs()


def new_output_id() -> int:
    """A fresh random output id (16 bits)."""
    return secrets.randbits(ID_BITS)


def tile_pattern(output_id: int) -> np.ndarray:
    """The TILE×TILE float32 luma offset tile for ``output_id``, RMS 1."""
    signs = np.where(_LAYOUT.role < 0, 1.0, 0.0)
    bits = payload_bits(output_id)
    data = _LAYOUT.role >= 0
    signs[data] = 2.0 * bits[_LAYOUT.role[data]] - 1.0
    spectrum = np.zeros((TILE, TILE // 2 + 1), np.complex128)
    spectrum[_LAYOUT.u, _LAYOUT.v] = signs * np.exp(1j * _LAYOUT.phase)
    tile = np.fft.irfft2(spectrum, s=(TILE, TILE))
    tile /= np.sqrt(np.mean(tile**2))
    return tile.astype(np.float32)


class Embedder:
    """Adds the mark to RGB uint8 frames one at a time (H×W×3 in, same out)."""

    def __init__(self, output_id: int, amplitude: float = AMPLITUDE) -> None:
        self.output_id = output_id
        self._tile = tile_pattern(output_id) * np.float32(amplitude)
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def _offset(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._cache:
            reps = (-(-height // TILE), -(-width // TILE))
            self._cache[key] = np.ascontiguousarray(
                np.tile(self._tile, reps)[:height, :width, None]
            )
        return self._cache[key]

    def mark(self, frame: np.ndarray) -> np.ndarray:
        """A marked copy of ``frame`` (H×W×3 uint8 RGB, values 0..255)."""
        offset = self._offset(frame.shape[0], frame.shape[1])
        marked = frame.astype(np.float32)
        marked += offset
        np.clip(marked, 0, 255, out=marked)
        return (marked + 0.5).astype(np.uint8)


def _luma(frame: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB uint8 frame as float32 (H×W); a gray frame is used as is."""
    if frame.ndim == 2:
        return frame.astype(np.float32)
    f = frame.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


# Detection pre-filter: luma minus an edge-preserving smoothing of itself (a bilateral
# filter: neighbours within ~SMOOTH_SIGMA px and ~SMOOTH_RANGE grey levels), which removes
# the mark (a few grey levels, periods of 7+ px) from the estimate of the content but keeps
# content's edges in it, so the residual holds the mark and little of the picture. It is then
# divided by its local variance (plus a floor), so busy regions, where content still drowns
# the mark, count less than flat ones: the matched filter for noise whose strength varies
# over the frame. Measured against a Gaussian high-pass: a static textured 128×128 photo
# went from z 3.8 to 5.8 (a still picture does not average out over a window), other clips
# within ±0.5.
SMOOTH_SIGMA = 4.0
SMOOTH_RANGE = 10.0
WEIGHT_SIGMA = 3.0
WEIGHT_FLOOR = 2.0


def _fold(luma: np.ndarray) -> np.ndarray:
    """Sum of all TILE×TILE tiles of ``luma``'s weighted residual (partial tiles zero-padded)."""
    h, w = luma.shape
    centred = luma - cv2.bilateralFilter(luma, -1, SMOOTH_RANGE, SMOOTH_SIGMA)
    local = cv2.GaussianBlur(centred * centred, (0, 0), WEIGHT_SIGMA)
    centred /= local + WEIGHT_FLOOR
    ph, pw = -(-h // TILE) * TILE, -(-w // TILE) * TILE
    if (ph, pw) != (h, w):
        centred = np.pad(centred, ((0, ph - h), (0, pw - w)))
    return centred.reshape(ph // TILE, TILE, pw // TILE, TILE).sum(axis=(0, 2))


def _rescale(luma: np.ndarray, scale: float) -> np.ndarray:
    """Undo a resize by ``scale`` (received / marked size)."""
    if scale == 1.0:
        return luma
    h, w = luma.shape
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    interp = cv2.INTER_CUBIC if scale < 1 else cv2.INTER_AREA
    return cv2.resize(luma, size, interpolation=interp)


@dataclass(frozen=True)
class WindowResult:
    """Detection in one window of frames: its strongest hypothesis (the one furthest over,
    or least under, its threshold)."""

    start_frame: int
    frames: int
    z: float  # z-score of the known part of the mark at that hypothesis
    scale: float
    shift: tuple[int, int]
    in_place: bool  # the hypothesis is the tile at the frame's origin (else: any shift)
    soft_bits: np.ndarray = field(repr=False, compare=False)
    # Each family's highest z-score over the scales tried (for calibration and reports).
    best_any_shift: float = 0.0
    best_in_place: float = 0.0

    @property
    def hypothesis(self) -> str:
        return IN_PLACE if self.in_place else ANY_SHIFT

    @property
    def threshold(self) -> float:
        return Z_THRESHOLD_IN_PLACE if self.in_place else Z_THRESHOLD

    @property
    def margin(self) -> float:
        """How far the z-score is over (≥ 0: detected) or under its threshold."""
        return self.z - self.threshold

    @property
    def detected(self) -> bool:
        return self.margin >= 0


def _analyse(fold: np.ndarray, scale: float, start: int, frames: int) -> WindowResult:
    spec = np.fft.rfft2(fold)
    used = spec[_LAYOUT.u, _LAYOUT.v]
    # Whitening: keep each frequency's phase only, so content's strong low frequencies do
    # not drown the rest.
    whitened = used / np.maximum(np.abs(used), 1e-9)
    # The known part of the mark: the sync frequencies and those of the fixed tool-mark bits.
    known = _KNOWN_SIGN != 0
    corr_spec = np.zeros((TILE, TILE // 2 + 1), np.complex128)
    corr_spec[_LAYOUT.u[known], _LAYOUT.v[known]] = (
        whitened[known] * _KNOWN_SIGN[known] * np.exp(-1j * _LAYOUT.phase[known])
    )
    # irfft2 of a half spectrum sums each pair twice over TILE²: corr = (2/TILE²)·Σ Re(...).
    corr = np.fft.irfft2(corr_spec, s=(TILE, TILE)) * (TILE * TILE / 2)
    n_known = int(known.sum())
    # Under "no mark" each Re(...) has variance 1/2: corr has std sqrt(n_known/2).
    z_map = corr / math.sqrt(n_known / 2)
    dy, dx = np.unravel_index(int(np.argmax(z_map)), z_map.shape)
    in_place = z_map[0, 0] - Z_THRESHOLD_IN_PLACE > z_map[dy, dx] - Z_THRESHOLD
    if in_place:
        dy, dx = 0, 0
    z = float(z_map[dy, dx])
    # Bits at that shift: the mark sits at (dy, dx) in the fold, i.e. its frequencies carry
    # an extra phase of -2π(u·dy + v·dx)/TILE.
    shift_phase = 2 * np.pi * (_LAYOUT.u * dy + _LAYOUT.v * dx) / TILE
    aligned = np.real(whitened * np.exp(-1j * (_LAYOUT.phase - shift_phase)))
    data = _LAYOUT.role >= 0
    soft = np.bincount(_LAYOUT.role[data], weights=aligned[data], minlength=PAYLOAD_BITS)
    return WindowResult(
        start,
        frames,
        z,
        scale,
        (int(dy), int(dx)),
        bool(in_place),
        soft,
        best_any_shift=float(z_map.max()),
        best_in_place=float(z_map[0, 0]),
    )


@dataclass
class WatermarkReport:
    """Detection over a whole image or video."""

    detected: bool
    windows: int
    windows_detected: int
    max_z: float  # the z-score of the strongest window (the furthest over its threshold)
    z_threshold: float  # the threshold that window's hypothesis is held to
    hypothesis: str  # that window's family: "in place" or "any shift"
    output_id: int | None  # read from the windows where it was detected
    payload_ok: bool  # the output id's CRC-8 matched (else output_id is None)
    scale: float | None
    window_results: list[WindowResult] = field(default_factory=list, repr=False)

    @property
    def confidence(self) -> float:
        """Share of the windows in which the mark was detected (0..1)."""
        return self.windows_detected / self.windows if self.windows else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "detected": self.detected,
            "windows": self.windows,
            "windows_detected": self.windows_detected,
            "confidence": round(self.confidence, 4),
            "max_z": round(self.max_z, 2),
            "z_threshold": self.z_threshold,
            "hypothesis": self.hypothesis,
            "output_id": None if self.output_id is None else f"{self.output_id:04x}",
            "payload_ok": self.payload_ok,
            "scale": self.scale,
        }


class Detector:
    """Streams frames in, folds them per window and scale, and reports per window.

    ``window``: frames per window (the video's frame rate rounded: 1-second windows).
    """

    def __init__(self, window: int, scales: Iterable[float] = SCALES) -> None:
        self.window = max(1, window)
        self.scales = tuple(scales)
        self._folds: dict[float, np.ndarray] = {}
        self._in_window = 0
        self._start = 0
        self._results: list[WindowResult] = []

    def feed(self, frame: np.ndarray) -> None:
        """Add one RGB uint8 (H×W×3) or gray frame."""
        luma = _luma(frame)
        for scale in self.scales:
            resized = _rescale(luma, scale)
            if min(resized.shape) < TILE // 2:
                continue
            fold = _fold(resized)
            if scale in self._folds:
                self._folds[scale] += fold
            else:
                self._folds[scale] = fold
        self._in_window += 1
        if self._in_window == self.window:
            self._close_window()

    def _close_window(self) -> None:
        if self._in_window == 0:
            return
        analysed = [
            _analyse(fold, scale, self._start, self._in_window)
            for scale, fold in self._folds.items()
        ]
        if analysed:
            best = max(analysed, key=lambda result: result.margin)
            self._results.append(
                replace(
                    best,
                    best_any_shift=max(result.best_any_shift for result in analysed),
                    best_in_place=max(result.best_in_place for result in analysed),
                )
            )
        self._start += self._in_window
        self._in_window = 0
        self._folds = {}

    def results(self) -> list[WindowResult]:
        return list(self._results)

    def finish(self, *, min_tail: float = 0.5) -> WatermarkReport:
        """Close the last window (kept if it holds at least ``min_tail`` of a window, or if
        it is the only one) and summarise."""
        if self._in_window and (self._in_window >= min_tail * self.window or not self._results):
            self._close_window()
        results = self._results
        hits = [r for r in results if r.detected]
        output_id: int | None = None
        scale: float | None = None
        payload_ok = False
        if hits:
            soft = np.sum([r.soft_bits for r in hits], axis=0)
            bits = (soft > 0).astype(int)
            read_id = int("".join(map(str, bits[TOOL_BITS : TOOL_BITS + ID_BITS])), 2)
            read_check = int("".join(map(str, bits[TOOL_BITS + ID_BITS :])), 2)
            payload_ok = read_check == crc8(read_id)
            output_id = read_id if payload_ok else None
            scale = max(hits, key=lambda r: r.margin).scale
        strongest = max(results, key=lambda r: r.margin, default=None)
        # A video counts as marked when at least half its windows are: one lucky window of
        # an unmarked video does not flag it (see docs/provenance.md for the rates).
        return WatermarkReport(
            detected=bool(hits) and 2 * len(hits) >= len(results),
            windows=len(results),
            windows_detected=len(hits),
            max_z=0.0 if strongest is None else strongest.z,
            z_threshold=Z_THRESHOLD if strongest is None else strongest.threshold,
            hypothesis=ANY_SHIFT if strongest is None else strongest.hypothesis,
            output_id=output_id,
            payload_ok=payload_ok,
            scale=scale,
            window_results=results,
        )


def window_frames(fps: Fraction | float) -> int:
    """Frames in a 1-second window."""
    return max(1, round(float(fps)))


def detect_frames(
    frames: Iterable[np.ndarray], fps: Fraction | float, scales: Iterable[float] = SCALES
) -> WatermarkReport:
    """Detect the mark in a stream of frames (1-second windows)."""
    detector = Detector(window_frames(fps), scales)
    for frame in frames:
        detector.feed(frame)
    return detector.finish()


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (inf when identical)."""
    mse = float(np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
