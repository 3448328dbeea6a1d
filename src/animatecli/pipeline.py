"""One animation job: open media → (crop the source) → align → animate → write, streaming.

Memory stays flat as the video grows: frames are decoded, animated and encoded as a
stream through bounded queues, and the alignment pass keeps only keypoints.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import faces, media
from .batch import Pair
from .engine import (
    AnimationSession,
    Animator,
    FrameTransfer,
    GraphedSession,
    GroupSession,
    Keypoints,
    MotionMode,
    OneEuroSettings,
    PendingFrames,
    family_named,
    frames_to_tensor,
)
from .errors import InputError, MediaError
from .memory import release_freed_memory
from .models import load_model
from .options import AnimateOptions, ModelOptions
from .progress import Reporter, SilentReporter
from .streaming import BackgroundWriter, Prefetcher
from .threads import ThreadShare, thread_budget


@dataclass
class PreparedImage:
    """The source as the model sees it, and where it sits in the original photo."""

    full: np.ndarray  # H×W×3 uint8, the photo as loaded
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) region of ``full`` that was animated
    model_input: np.ndarray  # h×w×3 uint8 at the model's frame shape
    face_found: bool | None  # None when no detection ran


@dataclass
class Alignment:
    """Which driving frame is matched to the source pose, and how it was chosen."""

    index: int
    method: str
    keypoints: Keypoints | None = None


@dataclass(frozen=True)
class DrivingCrop:
    """The face crop the model sees of each driving frame (``--crop-driving auto``).

    Frames before the face's track hold its first square, frames after it its last one.
    """

    path: faces.CropPath
    detector: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": "follow" if self.path.follows else "static",
            "detector": self.detector,
            "side": self.path.side,
            "first_frame": self.path.start_frame,
            "last_frame": self.path.end_frame,
            "box": list(self.path.box_at(self.path.start_frame)),
            "last_box": list(self.path.box_at(self.path.end_frame)),
        }


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
        }


@dataclass(frozen=True)
class _InFlight:
    """A batch queued on the device whose predictions may still be on their way back."""

    driving: list[np.ndarray]  # the frames as fitted for the model (for --compare)
    predictions: PendingFrames
    shape: tuple[int, ...]  # B×H×W×3, or B×F×H×W×3 for a group


def _in_batches(items: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
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


class AnimationPipeline:
    """Loads the model once; :meth:`run` animates one source/driving pair."""

    def __init__(self, model_options: ModelOptions, reporter: Reporter | None = None):
        self.reporter = reporter or SilentReporter()
        self.model_options = model_options
        # Threads first: this process's share of the CPUs, re-balanced per batch as other
        # animate processes start and end; ffmpeg's decoder and encoder counted in.
        budget = thread_budget(model_options.threads)
        self.threads = ThreadShare(budget, torch.set_num_threads)
        media.set_codec_threads(budget.codec)
        self.loaded, self.device, self.checkpoint_origin = load_model(model_options)
        # On CUDA the driving video decodes on the GPU's NVDEC engine where that works.
        self.decoder = media.choose_decoder(str(self.device))
        self.transfer = FrameTransfer(self.device)
        self.animator = Animator(
            self.loaded.model,
            device=self.device,
            precision="fp16" if model_options.fp16 else "fp32",
            # Channels-last weights: ~15% faster on CPU (make bench), same numbers within
            # float32 rounding.
            channels_last=True,
        )
        self._detectors: dict[tuple[str, float | None], faces.FaceDetector] = {}
        self._said: set[str] = set()

    # -- helpers ---------------------------------------------------------------------

    def _notice_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self.reporter.notice(message)

    def detector(self, kind: str, min_face: float | None = None) -> faces.FaceDetector:
        """The face detector of ``kind`` (built once per ``min_face``; notices go to the
        reporter)."""
        key = (kind, min_face)
        if key not in self._detectors:
            self._detectors[key] = faces.make_detector(
                kind, device=str(self.device), notify=self._notice_once, min_face=min_face
            )
        return self._detectors[key]

    @property
    def decoder_name(self) -> str:
        """The driving video's decoder: ``nvdec`` or ``software``."""
        return "nvdec" if self.decoder.hardware else "software"

    @property
    def face_model(self) -> bool:
        """Whether the model animates faces (anything not known to be a body/object model):
        `auto` face crops would hand a body model what it never saw."""
        return family_named(self.loaded.family).domain_of(self.loaded.config_name) == "face"

    @property
    def frame_hw(self) -> tuple[int, int]:
        return self.animator.frame_shape

    def describe_checkpoint(self) -> dict[str, Any]:
        return {**self.loaded.describe(), "origin": self.checkpoint_origin}

    def check(self, options: AnimateOptions) -> None:
        """Refuse options the loaded model cannot honour (``--mode avd`` without an AVD
        network) before any work is done."""
        self.animator.model.check_mode(MotionMode(options.mode))

    # -- source ----------------------------------------------------------------------

    def prepare_source(self, path: Path, options: AnimateOptions) -> PreparedImage:
        """Load the photo and choose the region to animate (face crop or fitted frame)."""
        image = media.load_image(path)
        h, w = image.shape[:2]
        box = media.fit_box((h, w), self.frame_hw, options.fit)
        face_found: bool | None = None
        if options.crop_source == "auto" and self.face_model:
            detector = self.detector(options.detector)
            threshold = faces.confident_score(detector.name)
            # Only confident detections: a weak false positive would crop a random region.
            detections = [d for d in detector.detect(image) if d.score >= threshold]
            face_found = bool(detections)
            if detections:
                face = detections[0]
                if not faces.is_tight_face_crop((h, w), face):
                    box = faces.square_crop_box(face, options.crop_increase, (h, w))
            elif abs(h - w) > 0.02 * max(h, w):
                self._notice_once(
                    f"no face found in {path.name}; animating the whole image ({options.fit})"
                )
        x0, y0, x1, y1 = box
        region = image[y0:y1, x0:x1]
        if (x0, y0, x1, y1) == (0, 0, w, h):
            model_input = media.fit_image(image, self.frame_hw, options.fit)
        else:
            model_input = media.fit_image(region, self.frame_hw, "stretch")
        return PreparedImage(image, (x0, y0, x1, y1), model_input, face_found)

    def prepare_faces(self, path: Path, options: AnimateOptions) -> list[PreparedImage]:
        """``--faces all|N``: one square crop per confidently detected face, largest
        first (FOMM's margin, slid inside the photo); empty when the photo shows no face."""
        image = media.load_image(path)
        detector = self.detector(options.detector)
        threshold = faces.confident_score(detector.name)
        found = sorted(
            (d for d in detector.detect(image) if d.score >= threshold),
            key=lambda d: d.side,
            reverse=True,
        )
        wanted = options.face_limit()
        if wanted is not None and len(found) < wanted:
            self._notice_once(
                f"--faces {wanted}: found {len(found)} face{'s' * (len(found) != 1)} in "
                f"{path.name}; animating {'both' if len(found) == 2 else 'all of them'}"
                if found
                else f"--faces {wanted}: no face found in {path.name}"
            )
        prepared = []
        for face in found[:wanted]:
            x0, y0, x1, y1 = faces.square_crop_box(face, options.crop_increase, image.shape[:2])
            model_input = media.fit_image(image[y0:y1, x0:x1], self.frame_hw, "stretch")
            prepared.append(PreparedImage(image, (x0, y0, x1, y1), model_input, True))
        return prepared

    # -- alignment -------------------------------------------------------------------

    def _fitted_frames(
        self,
        info: media.VideoInfo,
        options: AnimateOptions,
        stop: int | None = None,
        crop: DrivingCrop | None = None,
    ) -> Iterator[np.ndarray]:
        """Driving frames as the model sees them: the face crop of each frame, or the whole
        frame fitted by ``options.fit``."""
        # Passing the probed info spares the reader a second probe of the file.
        with self._reader(info, stop) as reader:
            for index, frame in enumerate(reader):
                if crop is None:
                    yield media.fit_image(frame, self.frame_hw, options.fit)
                else:
                    yield self._crop_to_model(frame, crop.path.box_at(index))

    def _reader(self, info: media.VideoInfo, stop: int | None = None) -> media.VideoReader:
        """A reader of the driving video through the job's decoder."""
        return media.VideoReader(info.path, stop=stop, info=info, nvdec_gpu=self.decoder.gpu)

    def _decoded_frames(self, info: media.VideoInfo) -> Iterator[np.ndarray]:
        """The driving frames at full size (the reader closes when the consumer stops)."""
        with self._reader(info) as reader:
            yield from reader

    def _crop_to_model(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The square ``box`` of ``frame`` resized to the model's frame shape."""
        x0, y0, x1, y1 = box
        return media.fit_image(frame[y0:y1, x0:x1], self.frame_hw, "stretch")

    def align(
        self, source: PreparedImage, driving: media.VideoInfo, options: AnimateOptions
    ) -> Alignment:
        """Pick the driving frame whose pose best matches the source (spec §7.1)."""
        mode = MotionMode(options.mode)
        if mode.canonical is not MotionMode.RELATIVE:
            return Alignment(0, f"none ({mode.value} motion)")
        if options.align == "first":
            return Alignment(0, "first frame")
        fixed = options.alignment_index()
        if fixed is not None:
            return self._keypoints_of_frame(driving, options, fixed)
        return self._best_frame(source, driving, options)

    def _keypoints_of_frame(
        self,
        driving: media.VideoInfo,
        options: AnimateOptions,
        index: int,
        crop: DrivingCrop | None = None,
    ) -> Alignment:
        if index < 0:
            raise InputError(f"--align {index}: the frame index must be 0 or more")
        last: np.ndarray | None = None
        count = 0
        for frame in self._fitted_frames(driving, options, stop=index + 1, crop=crop):
            last, count = frame, count + 1
        if last is None or count <= index:
            raise InputError(f"--align {index}: {Path(driving.path).name} has only {count} frames")
        return Alignment(index, "given", self.animator.keypoints(frames_to_tensor(last)))

    def _landmark_detector(self, options: AnimateOptions) -> faces.FaceDetector | None:
        """The detector whose 68 landmarks drive the best-frame search, None for keypoints.

        ``--detector auto`` resolves to the best backend available (face-alignment when its
        weights are cached, else dlib); the LBP cascade has no landmarks, so the model's
        keypoints are used then.
        """
        detector = self.detector(options.detector)
        if not detector.supports_landmarks:
            self._notice_once(
                f"the {detector.name} detector has no face landmarks; aligning with the "
                "model's own keypoints instead"
            )
            return None
        return detector

    def _best_frame(
        self, source: PreparedImage, driving: media.VideoInfo, options: AnimateOptions
    ) -> Alignment:
        landmarker = self._landmark_detector(options)
        reference: np.ndarray | None = None
        if landmarker is not None:
            found = landmarker.landmarks(source.model_input)
            if found:
                reference = found[0]
            else:
                self._notice_once("no face landmarks in the source; aligning with keypoints")
        use_landmarks = reference is not None
        if not use_landmarks:
            kp_source = self.animator.keypoints(frames_to_tensor(source.model_input))
            reference = kp_source.value[0].cpu().numpy()
        search = faces.BestFrameSearch(reference)
        # By landmarks, only the chosen frame's keypoints are needed: its pixels are kept
        # and the detector runs once at the end (it cost 15 ms a frame on vox-256).
        best_kp: Keypoints | None = None
        best_frame: np.ndarray | None = None
        self.reporter.start("aligning", driving.frame_count_estimate)
        index = 0
        with Prefetcher(self._fitted_frames(driving, options)) as frames:
            for batch in _in_batches(frames, self.batch_size(options)):
                if use_landmarks:
                    for frame in batch:
                        found = landmarker.landmarks(frame)  # type: ignore[union-attr]
                        before = search.best_index
                        search.update(index, found[0] if found else None)
                        if search.best_index != before:
                            best_frame = frame.copy()
                        index += 1
                else:
                    kps = self.animator.keypoints(frames_to_tensor(np.stack(batch)))
                    for row in range(len(batch)):
                        before = search.best_index
                        search.update(index, kps.value[row].cpu().numpy())
                        if search.best_index != before:
                            best_kp = kps[row]
                        index += 1
                self.reporter.advance(len(batch))
        if best_frame is not None:
            best_kp = self.animator.keypoints(frames_to_tensor(best_frame))
        self.reporter.finish()
        method = (
            f"{landmarker.name} face landmarks"  # type: ignore[union-attr]
            if use_landmarks
            else "model keypoints"
        )
        if search.best_index is None:
            self._notice_once("no face found in any driving frame; aligning to the first frame")
            return Alignment(0, "first frame (no face found)")
        return Alignment(search.best_index, f"best frame by {method}", best_kp)

    # -- driving crop ----------------------------------------------------------------

    def _face_keypoints(
        self, frames: Sequence[np.ndarray], boxes: Sequence[faces.FaceBox], increase: float
    ) -> list[np.ndarray | None]:
        """Model keypoints (K×2) of the face square around each box, in one batch.

        The fallback pose measure when no landmarks are available. The final crop is not
        known during the pass (a static crop is the union of the whole track), so each face
        is cut the way the source was: its own square with the same margin. That compares
        like with like (the source is a face-centred square too), and what remains of the
        crop's offset and scale is removed by the normalisation, up to how equivariant the
        keypoint detector was trained to be.
        """
        crops = [
            self._crop_to_model(frame, faces.square_crop_box(box, increase, frame.shape[:2]))
            for frame, box in zip(frames, boxes, strict=True)
        ]
        with torch.inference_mode():
            kps = self.animator.keypoints(frames_to_tensor(np.stack(crops)))
        return list(kps.value.cpu().numpy())

    def _is_face_crop(self, info: media.VideoInfo, detector: faces.FaceDetector) -> bool:
        """Whether the driving video already is a face crop, judged on its first frame."""
        if abs(info.width - info.height) > 0.1 * max(info.width, info.height):
            return False
        with media.VideoReader(info.path, stop=1, info=info) as reader:
            first = next(reader)
        found = detector.detect(first)
        return bool(found) and faces.is_tight_face_crop(first.shape[:2], found[0])

    def crop_and_align(
        self, source: PreparedImage, info: media.VideoInfo, options: AnimateOptions
    ) -> tuple[DrivingCrop | None, Alignment]:
        """The alignment pass of ``--crop-driving auto``: one streaming pass over the driving
        video finds its main face track (the crop) and the best-matching frame together.

        Faces are detected on `faces.default_stride` frames per second and linked into tubes;
        the tube with the most detections that looks like a face is the main one, cropped as
        ``animate crop --track auto`` would. Every frame is a candidate for the best frame
        (`faces.FaceScan`), measured on the main track's own face (its box interpolated
        between detections): by its 68 landmarks on the full frame (FOMM's normalised
        landmarks do not depend on position or scale, so they equal those of the final
        crop), else by model keypoints (`_face_keypoints`). Only each track's current best
        frame is kept, to compute its keypoints in the final crop.

        Returns ``(None, alignment)`` when the video needs no crop (already a face crop) or
        shows no face; the alignment is then the usual whole-frame one.
        """
        min_face = faces.default_min_face(info.width, info.height)
        detector = self.detector(options.detector, min_face)
        if self._is_face_crop(info, detector):
            return None, self.align(source, info, options)
        every = faces.default_stride(info.fps)
        mode = MotionMode(options.mode)  # a plain string in the options (no torch there)
        relative = mode.canonical is MotionMode.RELATIVE
        search_best = relative and options.align == "best"
        landmarker = self._landmark_detector(options) if search_best else None
        reference: np.ndarray | None = None
        if landmarker is not None:
            found = landmarker.landmarks(source.model_input)
            reference = found[0] if found else None
        if reference is None:
            landmarker = None
            if search_best:
                kp = self.animator.keypoints(frames_to_tensor(source.model_input))
                reference = kp.value[0].cpu().numpy()

        def measure(
            frames: Sequence[np.ndarray], boxes: Sequence[faces.FaceBox]
        ) -> list[np.ndarray | None]:
            if landmarker is not None:
                return [landmarker.landmarks_for(f, b) for f, b in zip(frames, boxes, strict=True)]
            return self._face_keypoints(frames, boxes, options.crop_increase)

        scan = faces.FaceScan(
            lambda frame: [b for b in detector.detect(frame) if b.side >= min_face],
            every,
            reference,
            measure if reference is not None else None,
        )
        self.reporter.start("finding the driving face", info.frame_count_estimate)
        # Full-size frames: a short queue keeps memory small even for 4K input.
        with Prefetcher(self._decoded_frames(info), depth=2) as frames:
            for index, frame in enumerate(frames):
                scan.feed(index, frame)
                self.reporter.advance(1)
        tubes = [t for t in scan.finish() if faces.tube_rejection(t, every) is None]
        self.reporter.finish()
        if not tubes:
            if abs(info.width - info.height) > 0.02 * max(info.width, info.height):
                # As for the source: a square video is used whole anyway, nothing to say.
                self._notice_once(
                    f"no face found in {Path(info.path).name}; animating whole frames "
                    f"({options.fit})"
                )
            return None, self.align(source, info, options)
        main = max(tubes, key=lambda t: len(t.boxes))
        ((_, path),) = faces.crop_paths(
            main, "auto", options.crop_increase, (info.height, info.width), float(info.fps)
        )
        crop = DrivingCrop(path, detector.name)
        if not relative:
            return crop, Alignment(0, f"none ({mode.value} motion)")
        if options.align == "first":
            return crop, Alignment(0, "first frame")
        fixed = options.alignment_index()
        if fixed is not None:
            return crop, self._keypoints_of_frame(info, options, fixed, crop)
        best = scan.best(main)
        if best is None:
            return crop, Alignment(0, "first frame (no face found)")
        index, best_frame = best
        kp = self.animator.keypoints(
            frames_to_tensor(self._crop_to_model(best_frame, path.box_at(index)))
        )
        method = f"{landmarker.name} face landmarks" if landmarker else "model keypoints"
        return crop, Alignment(index, f"best frame by {method}", kp)

    # -- animation -------------------------------------------------------------------

    def batch_size(self, options: AnimateOptions | None = None) -> int:
        if options is not None and options.batch_size:
            return options.batch_size
        return 8 if self.device.type == "cuda" else 1

    def _composer(
        self,
        source: PreparedImage,
        options: AnimateOptions,
        group_faces: Sequence[PreparedImage] = (),
    ) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], tuple[int, int]]:
        """Function (driving frame, prediction) → output frame, and output (w, h); with
        ``--faces all|N`` the prediction holds one crop per face of ``group_faces``."""
        h, w = self.frame_hw
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
                dx0, dy0, dx1, dy1 = media.fit_geometry((full_h, full_w), (h, w), "pad").dst_box
                return (lambda _drv, pred: paste.paste(pred[dy0:dy1, dx0:dx1])), (out_w, out_h)
            return (lambda _drv, pred: paste.paste(pred)), (out_w, out_h)
        if options.compare:
            src = source.model_input
            return (lambda drv, pred: np.concatenate([src, drv, pred], axis=1)), (3 * w, h)
        return (lambda _drv, pred: pred), (w, h)

    def run(
        self,
        source_path: Path,
        driving_path: Path,
        output: Path | str,
        options: AnimateOptions,
    ) -> AnimateResult:
        """Animate ``source_path`` with ``driving_path`` into ``output`` (a trailing ``/``
        in a string output asks for a folder of PNG frames)."""
        started = time.perf_counter()
        source_path, driving_path = Path(source_path), Path(driving_path)
        self.check(options)
        media.check_output_path(
            output, overwrite=options.overwrite, inputs=(source_path, driving_path)
        )
        encoder = media.choose_encoder(options.encoder, str(self.device), output)
        stages: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stages[stage] = now - clock
            clock = now

        info = media.probe_video(driving_path)
        grouped = options.faces != "largest" and self.face_model
        group_faces = self.prepare_faces(source_path, options) if grouped else []
        if group_faces:
            source = group_faces[0]
        else:
            # One face, or a photo without any: today's single-source path.
            options = replace(options, faces="largest")
            source = self.prepare_source(source_path, options)
        lap("source")
        total = info.frame_count_estimate
        crop: DrivingCrop | None = None
        # Every face gets its own best-frame alignment (one pass over the video each).
        alignments: list[Alignment] = []
        for face in group_faces or [source]:
            if options.crop_driving == "auto" and self.face_model:
                crop, alignment = self.crop_and_align(face, info, options)
            else:
                alignment = self.align(face, info, options)
            alignments.append(alignment)
        alignment = alignments[0]
        # The face models served the alignment pass only: free them for the animate
        # stage, whose peak is the job's (dlib's landmark model is 66 MiB; the next job
        # reloads it in about half a second), and hand the freed heap back.
        self._detectors.clear()
        release_freed_memory()
        lap("align")
        strength = options.smoothing_strength()
        smoothing = None if strength is None else OneEuroSettings.of_strength(strength)
        session: AnimationSession | GroupSession | GraphedSession
        if group_faces:
            session = self.animator.group_session(
                frames_to_tensor(np.stack([face.model_input for face in group_faces])),
                mode=MotionMode(options.mode),
                adapt_scale=options.adapt_scale,
                initials=[a.keypoints for a in alignments],
                smoothing=smoothing,
                fps=float(info.fps),
            )
        else:
            session = self.animator.session(
                frames_to_tensor(source.model_input),
                mode=MotionMode(options.mode),
                adapt_scale=options.adapt_scale,
                initial=alignment.keypoints,
                smoothing=smoothing,
                fps=float(info.fps),
            )
        compose, (width, height) = self._composer(source, options, group_faces)
        batch_size = self.batch_size(options)
        cuda_graph: str | None = None
        if self.model_options.cuda_graphs:
            if isinstance(session, AnimationSession):
                session = GraphedSession(session, batch_size)
            else:
                cuda_graph = "eager: no CUDA graph for --faces all|N"
        frames = 0
        self.reporter.start("animating", total)
        sink = media.open_sink(
            output,
            width,
            height,
            info.fps,
            crf=options.crf,
            preset=options.preset,
            audio_from=driving_path,
            overwrite=options.overwrite,
            nvenc_gpu=encoder.gpu,
        )
        # Where downloads overlap compute (CUDA), one batch stays in flight: the next is
        # queued on the device before the last one's frames are waited for.
        depth = 1 if self.transfer.overlaps else 0
        in_flight: deque[_InFlight] = deque()
        with sink:
            writer: BackgroundWriter[np.ndarray] = BackgroundWriter(sink.write)
            try:
                with Prefetcher(self._fitted_frames(info, options, crop=crop)) as stream:
                    for number, batch in enumerate(_in_batches(stream, batch_size)):
                        in_flight.append(self._submit_batch(session, batch))
                        if number == 0:
                            # The first batch made the layers' one-off kernels; what it
                            # freed on the way is not needed again.
                            release_freed_memory()
                        while len(in_flight) > depth:
                            frames += self._emit_batch(in_flight.popleft(), compose, writer)
                    while in_flight:
                        frames += self._emit_batch(in_flight.popleft(), compose, writer)
            except BaseException:
                writer.cancel()  # the sink is aborted next; queued frames are moot
                raise
            writer.join()
            if frames == 0:
                raise InputError(f"{driving_path} contains no video frames")
            lap("animate")
            sink.close()
            lap("finalize")
        self.reporter.finish()
        if alignment.index >= frames:
            raise MediaError(f"alignment frame {alignment.index} is past the video's end")
        return AnimateResult(
            output=Path(output),
            frames=frames,
            fps=info.fps,
            seconds=time.perf_counter() - started,
            device=str(self.device),
            checkpoint=self.describe_checkpoint(),
            alignment=alignment,
            audio_kept=sink.audio_kept,
            size=(width, height),
            driving_crop=crop,
            smoothing=smoothing,
            encoder=CodecUsed(sink.encoder, encoder.reason),
            decoder=CodecUsed(self.decoder_name, self.decoder.reason),
            cuda_graph=session.reason if isinstance(session, GraphedSession) else cuda_graph,
            faces=list(zip(group_faces, alignments, strict=True)) if group_faces else None,
            stage_seconds=stages,
        )

    def animate_pair(self, pair: Pair, options: AnimateOptions) -> int:
        """One pair of a batch, its output folder made first; returns the frames written."""
        pair.output.parent.mkdir(parents=True, exist_ok=True)
        return self.run(pair.source, pair.driving, pair.output, options).frames

    def _submit_batch(
        self,
        session: AnimationSession | GroupSession | GraphedSession,
        driving: list[np.ndarray],
    ) -> _InFlight:
        """Upload one batch of driving frames, animate it and start its download."""
        self.threads.rebalance()
        batch = self.transfer.upload(np.stack(driving))
        with torch.inference_mode():
            animated = session.animate_batch(batch)
            # B×3×H×W, or B×F×3×H×W for a group (one crop per face of each frame).
            predictions = self.transfer.download(animated.flatten(0, -4))
        shape = (*animated.shape[:-3], *animated.shape[-2:], 3)
        return _InFlight(driving, predictions, shape)

    def _emit_batch(
        self,
        batch: _InFlight,
        compose: Callable[[np.ndarray, np.ndarray], np.ndarray],
        writer: BackgroundWriter[np.ndarray],
    ) -> int:
        """Hand a batch's output frames to the writer once its download is done."""
        predictions = batch.predictions.result().reshape(batch.shape)
        for driving_frame, prediction in zip(batch.driving, predictions, strict=True):
            writer.submit(compose(driving_frame, prediction))
        self.reporter.advance(len(batch.driving))
        return len(batch.driving)
