"""The inference API: prepare a source once, then stream driving frames through it.

Family-blind: it calls only the :class:`~.protocol.MotionModel` interface. Everything
that depends on the source alone (its keypoints and whatever the family's
``encode_source`` caches: encoder features, a downscaled copy) is computed once per
source; driving frames go through in batches and nothing accumulates across frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .building import channels_last_in_place
from .inference import prepare_for_inference
from .keypoints import Keypoints
from .motion import MotionMode, movement_scale
from .protocol import Generated, MotionModel
from .smoothing import KeypointSmoother, OneEuroSettings

# The half-precision autocast types a session may run the generator in (graphs reuse it).
AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def frames_to_tensor(frames: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``N×H×W×3`` (or ``H×W×3``) uint8 RGB → ``N×3×H×W`` float32 in ``[0, 1]``.

    The result is a channels-last view of the pixels, the layout the reference
    implementation feeds its networks.
    """
    if frames.ndim == 3:
        frames = frames[None]
    frames = np.ascontiguousarray(frames)
    if not frames.flags.writeable:
        # torch warns on read-only arrays (decoded images often are); copying is cheap.
        frames = frames.copy()
    pixels = torch.from_numpy(frames)
    if torch.device(device).type == "cuda":
        # From pinned memory the copy is a DMA that does not hold this thread up; the
        # pinned block is not reused before the copy is done (PyTorch records it).
        pixels = pixels.pin_memory().to(device, non_blocking=True)
    else:
        pixels = pixels.to(device)
    return pixels.permute(0, 3, 1, 2).float().div_(255.0)


def _quantize(images: torch.Tensor) -> torch.Tensor:
    """``N×3×H×W`` float in ``[0, 1]`` → ``N×H×W×3`` uint8 view (round half to even)."""
    scaled = (images.detach().float() * 255.0).round_().clamp_(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1)


def tensor_to_frames(images: torch.Tensor) -> np.ndarray:
    """``N×3×H×W`` float in ``[0, 1]`` → ``N×H×W×3`` uint8 (round half to even)."""
    return _quantize(images).cpu().numpy()


class PendingFrames:
    """Frames on their way back from the device: :meth:`result` waits for the copy."""

    def __init__(self, frames: np.ndarray | torch.Tensor, copied: torch.cuda.Event | None = None):
        self._frames = frames  # an array when ready, else the pinned copy's target
        self._copied = copied

    def result(self) -> np.ndarray:
        """``N×H×W×3`` uint8 on the host (waits for the copy only, not for later work)."""
        if self._copied is not None:
            self._copied.synchronize()
        frames = self._frames
        return frames.numpy() if isinstance(frames, torch.Tensor) else frames


class FrameTransfer:
    """Driving frames to a device and predictions back, overlapped with compute on CUDA.

    On CUDA both copies run from pinned host memory on a side stream: the upload of the
    next batch proceeds while the current one computes, and a download is waited for
    only when its frames are wanted, so the host can queue the next batch first. On the
    CPU it is exactly `frames_to_tensor` and `tensor_to_frames`.
    """

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self._copies = torch.cuda.Stream(self.device) if cuda else None

    @property
    def overlaps(self) -> bool:
        """Whether downloads complete in the background (worth keeping a batch in flight)."""
        return self._copies is not None

    def upload(self, frames: np.ndarray) -> torch.Tensor:
        """``N×H×W×3`` uint8 → ``N×3×H×W`` float32 in ``[0, 1]`` on the device, ready for
        work queued next on the current stream."""
        if self._copies is None:
            return frames_to_tensor(frames, self.device)
        compute = torch.cuda.current_stream(self.device)
        with torch.cuda.stream(self._copies):
            tensor = frames_to_tensor(frames, self.device)
        compute.wait_stream(self._copies)
        # Made on the side stream, used and freed on the compute stream.
        tensor.record_stream(compute)
        return tensor

    def download(self, images: torch.Tensor) -> PendingFrames:
        """Start copying ``N×3×H×W`` floats in ``[0, 1]`` back as ``N×H×W×3`` uint8."""
        if self._copies is None:
            return PendingFrames(tensor_to_frames(images))
        quantized = _quantize(images).contiguous()  # on the compute stream
        host = torch.empty(quantized.shape, dtype=torch.uint8, pin_memory=True)
        self._copies.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self._copies):
            host.copy_(quantized, non_blocking=True)
            copied = torch.cuda.Event()
            copied.record(self._copies)
        quantized.record_stream(self._copies)
        return PendingFrames(host, copied)


@dataclass
class PreparedSource:
    """A source image with its cached keypoints and the family's encoding (batch 1)."""

    keypoints: Keypoints
    encoding: Any


class Animator:
    """Owns an eval-mode :class:`MotionModel` of any family on a device and runs
    inference with it.

    The model is taken over in place: moved to ``device``, put in eval mode, its
    parameters stop requiring gradients and, with ``optimize`` (the default), its layers
    are rewritten for inference (batch norms folded into convolutions, up blocks in
    their phase form; see :mod:`.inference`): pass a copy to keep training the original.

    ``precision``: ``"fp32"`` everywhere, or ``"fp16"``/``"bf16"`` autocast (CUDA only;
    keypoint arithmetic stays float32). ``channels_last`` stores the weights channels-last
    so every convolution runs the channels-last kernels (faster on CPU; sums move by
    float32 rounding only). ``fast_rewrites`` (opt-in): the rewrites that trade exactness
    for speed too (`inference.prepare_for_inference`'s ``fast``).

    ``generation_scope``: entered around every generator call, for a policy of the
    process that owns the animator (the runtime keeps the generator's large maps out of
    the C heap on CPU, `memory.large_blocks_mapped`); the engine itself does no such
    thing.
    """

    def __init__(
        self,
        model: MotionModel,
        *,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        channels_last: bool = False,
        optimize: bool = True,
        fast_rewrites: bool = False,
        generation_scope: Callable[[], AbstractContextManager[object]] = nullcontext,
    ):
        self.device = torch.device(device)
        self.generation_scope = generation_scope
        if precision not in ("fp32", *AUTOCAST_DTYPES):
            raise ValueError(f"unknown precision {precision!r}")
        if precision != "fp32" and self.device.type != "cuda":
            raise ValueError(f"{precision} inference needs a CUDA device")
        self.precision = precision
        self.model = model.to(self.device).eval().requires_grad_(False)
        if channels_last:
            channels_last_in_place(self.model)  # no second copy of the weights
        if optimize:
            prepare_for_inference(self.model, fast=fast_rewrites)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(height, width) the model expects."""
        return self.model.config.frame_shape

    @contextmanager
    def _precision(self) -> Iterator[None]:
        """The Animator's precision: autocast for fp16/bf16 (the keypoint detector and the
        dense motion stay float32, see `float32_forward`); TF32 off for what runs in fp32.

        TF32 convolutions (PyTorch's CUDA default) keep 10 mantissa bits: the keypoint
        heatmaps' softmax (temperature 0.1) magnifies that into keypoints and pixels far
        off the float32 result (measured on an H200: up to 0.18 on the reference fixture).
        """
        cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
        saved = cudnn.allow_tf32, matmul.allow_tf32
        cudnn.allow_tf32 = matmul.allow_tf32 = False
        try:
            if self.precision == "fp32":
                yield
            else:
                with torch.autocast(self.device.type, dtype=AUTOCAST_DTYPES[self.precision]):
                    yield
        finally:
            cudnn.allow_tf32, matmul.allow_tf32 = saved

    @contextmanager
    def _generating(self) -> Iterator[None]:
        """Around a generator call: the precision and the owner's `generation_scope`."""
        with self.generation_scope(), self._precision():
            yield

    def _input(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim == 3:
            images = images.unsqueeze(0)
        images = images.to(self.device, torch.float32)
        # Channels-last input is what the reference feeds (and is faster on CPU).
        return images.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def keypoints(self, images: torch.Tensor) -> Keypoints:
        """Detect keypoints in ``B×3×H×W`` images in ``[0, 1]`` (the detector always runs
        in float32, see `float32_forward`)."""
        with self._precision():
            return self.model.detect(self._input(images))

    @torch.inference_mode()
    def prepare_source(self, source: torch.Tensor) -> PreparedSource:
        """Keypoints and encoder outputs of one ``3×H×W`` source (or of ``F×3×H×W``
        sources at once, for a :class:`GroupSession`)."""
        image = self._input(source)
        with self._precision():
            encoding = self.model.encode_source(image)
        return PreparedSource(self.keypoints(image), encoding)

    def session(
        self,
        source: torch.Tensor | PreparedSource,
        *,
        mode: MotionMode | str = MotionMode.RELATIVE,
        adapt_scale: bool = True,
        initial: torch.Tensor | Keypoints | None = None,
        with_deformed: bool = False,
        smoothing: OneEuroSettings | None = None,
        fps: float = 25.0,
    ) -> AnimationSession:
        """Start animating ``source``.

        ``initial`` is the driving frame (or its keypoints) that corresponds to the
        source pose in relative mode; by default the first frame passed in. A mode the
        model does not support raises :class:`~.protocol.UnsupportedMode` before any work.
        ``smoothing``: filter the driving keypoints over time (see :mod:`.smoothing`)
        before motion transfer; ``fps`` is the driving video's frame rate, which the
        filter's cut-offs are relative to.
        """
        mode = MotionMode(mode)
        self.model.check_mode(mode)
        prepared = source if isinstance(source, PreparedSource) else self.prepare_source(source)
        if isinstance(initial, torch.Tensor):
            initial = self.keypoints(initial)
        return AnimationSession(
            self,
            prepared,
            mode=mode,
            adapt_scale=adapt_scale,
            initial=initial,
            with_deformed=with_deformed,
            smoother=None if smoothing is None else KeypointSmoother(smoothing, fps),
        )

    def group_session(
        self,
        sources: torch.Tensor,
        *,
        mode: MotionMode | str = MotionMode.RELATIVE,
        adapt_scale: bool = True,
        initials: list[Keypoints | None] | None = None,
        smoothing: OneEuroSettings | None = None,
        fps: float = 25.0,
    ) -> GroupSession:
        """Start animating ``F×3×H×W`` sources with one driving video (see
        :class:`GroupSession`; the options are :meth:`session`'s, ``initials`` per source)."""
        mode = MotionMode(mode)
        self.model.check_mode(mode)
        return GroupSession(
            self,
            sources,
            mode=mode,
            adapt_scale=adapt_scale,
            initials=initials,
            smoothing=smoothing,
            fps=fps,
        )


class AnimationSession:
    """One source animated by a stream of driving frames, in order; state does not grow
    (the smoother, when there is one, keeps the last frame's keypoints)."""

    def __init__(
        self,
        animator: Animator,
        source: PreparedSource,
        *,
        mode: MotionMode,
        adapt_scale: bool,
        initial: Keypoints | None,
        with_deformed: bool,
        smoother: KeypointSmoother | None = None,
    ):
        self.animator = animator
        self.source = source
        self.mode = mode
        self.adapt_scale = adapt_scale
        self.with_deformed = with_deformed
        self.smoother = smoother
        self.initial: Keypoints | None = None
        self.scale = 1.0
        if initial is not None:
            self._set_initial(initial)

    def _set_initial(self, initial: Keypoints) -> None:
        self.initial = initial[0]
        if self.adapt_scale:
            self.scale = movement_scale(self.source.keypoints, self.initial)

    def normalized(self, kp_driving: Keypoints) -> Keypoints:
        """The driving keypoints the generator sees under this session's motion mode
        (smoothed over time first when the session smooths; call once per frame, in order)."""
        if self.smoother is not None:
            kp_driving = self.smoother(kp_driving)
        if self.initial is None:
            self._set_initial(kp_driving)
        assert self.initial is not None
        return self.animator.model.transfer(
            self.source.keypoints, kp_driving, self.initial, self.mode, self.scale
        )

    @torch.inference_mode()
    def animate_batch_details(self, frames: torch.Tensor) -> Generated:
        """Animate ``B×3×H×W`` driving frames; the family's full output for diagnostics."""
        animator = self.animator
        kp_driving = self.normalized(animator.keypoints(frames))
        with animator._generating():
            return animator.model.generate(
                self.source.encoding,
                kp_driving,
                self.source.keypoints,
                with_deformed=self.with_deformed,
            )

    def animate_batch(self, frames: torch.Tensor) -> torch.Tensor:
        """``B×3×H×W`` driving frames in ``[0, 1]`` → ``B×3×H×W`` predictions (float32)."""
        return self.animate_batch_details(frames).prediction.float()

    def animate(
        self, frames: Iterable[torch.Tensor], batch_size: int = 1
    ) -> Iterator[torch.Tensor]:
        """Stream ``3×H×W`` frames in, ``3×H×W`` predictions out, ``batch_size`` at a time."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        pending: list[torch.Tensor] = []
        for frame in frames:
            pending.append(frame)
            if len(pending) == batch_size:
                yield from self.animate_batch(torch.stack(pending))
                pending.clear()
        if pending:
            yield from self.animate_batch(torch.stack(pending))


class GroupSession:
    """Several sources (the faces of a group photo) animated by one stream of driving
    frames, each with its own initial frame and motion scale.

    The sources are encoded together once; every driving frame then goes through the
    generator as one batch holding one row per source. The driving keypoints are
    detected (and smoothed) once per frame, shared by all sources.
    """

    def __init__(
        self,
        animator: Animator,
        sources: torch.Tensor,
        *,
        mode: MotionMode | str = MotionMode.RELATIVE,
        adapt_scale: bool = True,
        initials: list[Keypoints | None] | None = None,
        smoothing: OneEuroSettings | None = None,
        fps: float = 25.0,
    ):
        """``sources``: ``F×3×H×W`` in ``[0, 1]``; ``initials``: per source, the keypoints
        of the driving frame matching its pose (None: the first frame passed in)."""
        self.animator = animator
        self.prepared = animator.prepare_source(sources)
        count = sources.shape[0]
        initials = initials if initials is not None else [None] * count
        if len(initials) != count:
            raise ValueError(f"{len(initials)} initial frames for {count} sources")
        # One plain session per source holds its transfer state (initial frame, scale);
        # the smoothing runs once, here, on the shared driving keypoints.
        self.faces = [
            animator.session(
                PreparedSource(self.prepared.keypoints[i], None),
                mode=mode,
                adapt_scale=adapt_scale,
                initial=initial,
            )
            for i, initial in enumerate(initials)
        ]
        self.smoother = None if smoothing is None else KeypointSmoother(smoothing, fps)

    @torch.inference_mode()
    def animate_batch(self, frames: torch.Tensor) -> torch.Tensor:
        """``B×3×H×W`` driving frames → ``B×F×3×H×W`` predictions (float32), frame by frame
        in order, one generator batch of ``F`` rows per frame."""
        animator = self.animator
        kp_driving = animator.keypoints(frames)
        if self.smoother is not None:
            kp_driving = self.smoother(kp_driving)
        outputs = []
        for row in range(frames.shape[0]):
            kp = Keypoints.cat([face.normalized(kp_driving[row]) for face in self.faces])
            with animator._generating():
                generated = animator.model.generate(
                    self.prepared.encoding, kp, self.prepared.keypoints
                )
            outputs.append(generated.prediction.float())
        return torch.stack(outputs)
