"""The alignment stage: which driving frame matches the source pose, and (``--crop-driving
auto``) the face crop the model sees of every driving frame, found in the same pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .. import faces, media
from ..engine import Keypoints, MotionMode, frames_to_tensor
from ..errors import InputError
from ..streaming import Prefetcher
from ..words import counted
from .driving import crop_to_model, decoded_frames, fitted_frames, in_batches
from .source import PreparedImage

if TYPE_CHECKING:
    from .job import AnimationJob


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


@dataclass
class _FaceScanned:
    """What the face pass of ``--crop-driving auto`` found: the main track's crop, and its
    best-matching frame when the pass searched for one."""

    crop: DrivingCrop
    best: tuple[int, np.ndarray] | None  # (index, full-size frame)
    method: str


def align(
    job: AnimationJob, source: PreparedImage, info: media.VideoInfo
) -> tuple[DrivingCrop | None, Alignment]:
    """The driving crop (None: whole frames fitted by ``--fit``) and the driving frame
    matched to ``source`` (spec §7.1), by one path whether or not the driving video is
    cropped: ``--crop-driving auto`` on a face model first finds the face track (and, for
    ``--align best``, its best frame in the same streaming pass)."""
    options = job.options
    scanned: _FaceScanned | None = None
    if options.crop_driving == "auto" and job.runtime.face_model:
        scanned = _scan_driving_face(job, source, info)
    crop = scanned.crop if scanned is not None else None
    mode = MotionMode(options.mode)  # a plain string in the options (no torch there)
    if mode.canonical is not MotionMode.RELATIVE:
        return crop, Alignment(0, f"none ({mode.value} motion)")
    if options.align == "first":
        return crop, Alignment(0, "first frame")
    fixed = options.alignment_index()
    if fixed is not None:
        return crop, _keypoints_of_frame(job, info, fixed, crop)
    if scanned is None:
        return crop, _best_frame(job, source, info)
    if scanned.best is None:
        return crop, Alignment(0, "first frame (no face found)")
    index, best_frame = scanned.best
    kp = job.runtime.animator.keypoints(
        frames_to_tensor(crop_to_model(best_frame, scanned.crop.path.box_at(index), _hw(job)))
    )
    return crop, Alignment(index, f"best frame by {scanned.method}", kp)


def _hw(job: AnimationJob) -> tuple[int, int]:
    return job.runtime.frame_hw


def _keypoints_of_frame(
    job: AnimationJob, driving: media.VideoInfo, index: int, crop: DrivingCrop | None = None
) -> Alignment:
    if index < 0:
        raise InputError(f"--align {index}: the frame index must be 0 or more")
    last: np.ndarray | None = None
    count = 0
    frames = fitted_frames(
        driving,
        job.runtime.decoder,
        _hw(job),
        job.options.fit,
        stop=index + 1,
        crop=crop.path if crop else None,
    )
    for frame in frames:
        last, count = frame, count + 1
    if last is None or count <= index:
        raise InputError(
            f"--align {index}: {Path(driving.path).name} has only {counted(count, 'frame')}"
        )
    return Alignment(index, "given", job.runtime.animator.keypoints(frames_to_tensor(last)))


def _landmark_detector(job: AnimationJob) -> faces.FaceDetector | None:
    """The detector whose 68 landmarks drive the best-frame search, None for keypoints.

    ``--detector auto`` resolves to the best backend available (face-alignment when its
    weights are cached, else dlib); the LBP cascade has no landmarks, so the model's
    keypoints are used then.
    """
    detector = job.detector(job.options.detector)
    if not detector.supports_landmarks:
        job.notice(
            f"the {detector.name} detector has no face landmarks; aligning with the "
            "model's own keypoints instead"
        )
        return None
    return detector


def _best_frame(job: AnimationJob, source: PreparedImage, driving: media.VideoInfo) -> Alignment:
    """The whole-frame best-frame search: by face landmarks, else by model keypoints."""
    animator = job.runtime.animator
    landmarker = _landmark_detector(job)
    reference: np.ndarray | None = None
    if landmarker is not None:
        found = landmarker.landmarks(source.model_input)
        if found:
            reference = found[0]
        else:
            job.notice("no face landmarks in the source; aligning with keypoints")
    use_landmarks = reference is not None
    if not use_landmarks:
        kp_source = animator.keypoints(frames_to_tensor(source.model_input))
        reference = kp_source.value[0].cpu().numpy()
    search = faces.BestFrameSearch(reference)
    # By landmarks, only the chosen frame's keypoints are needed: its pixels are kept
    # and the detector runs once at the end (it cost 15 ms a frame on vox-256).
    best_kp: Keypoints | None = None
    best_frame: np.ndarray | None = None
    job.reporter.start("aligning", driving.frame_count_estimate)
    index = 0
    frames = fitted_frames(driving, job.runtime.decoder, _hw(job), job.options.fit)
    with Prefetcher(frames) as stream:
        for batch in in_batches(stream, job.runtime.batch_size(job.options)):
            if use_landmarks:
                for frame in batch:
                    found = landmarker.landmarks(frame)  # type: ignore[union-attr]
                    before = search.best_index
                    search.update(index, found[0] if found else None)
                    if search.best_index != before:
                        best_frame = frame.copy()
                    index += 1
            else:
                kps = animator.keypoints(frames_to_tensor(np.stack(batch)))
                for row in range(len(batch)):
                    before = search.best_index
                    search.update(index, kps.value[row].cpu().numpy())
                    if search.best_index != before:
                        best_kp = kps[row]
                    index += 1
            job.reporter.advance(len(batch))
    if best_frame is not None:
        best_kp = animator.keypoints(frames_to_tensor(best_frame))
    job.reporter.finish()
    method = (
        f"{landmarker.name} face landmarks"  # type: ignore[union-attr]
        if use_landmarks
        else "model keypoints"
    )
    if search.best_index is None:
        job.notice("no face found in any driving frame; aligning to the first frame")
        return Alignment(0, "first frame (no face found)")
    return Alignment(search.best_index, f"best frame by {method}", best_kp)


def _face_keypoints(
    job: AnimationJob, frames: Sequence[np.ndarray], boxes: Sequence[faces.FaceBox], increase: float
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
        crop_to_model(frame, faces.square_crop_box(box, increase, frame.shape[:2]), _hw(job))
        for frame, box in zip(frames, boxes, strict=True)
    ]
    with torch.inference_mode():
        kps = job.runtime.animator.keypoints(frames_to_tensor(np.stack(crops)))
    return list(kps.value.cpu().numpy())


def _is_face_crop(info: media.VideoInfo, detector: faces.FaceDetector) -> bool:
    """Whether the driving video already is a face crop, judged on its first frame."""
    if abs(info.width - info.height) > 0.1 * max(info.width, info.height):
        return False
    with media.VideoReader(info.path, stop=1, info=info) as reader:
        first = next(reader)
    found = detector.detect(first)
    return bool(found) and faces.is_tight_face_crop(first.shape[:2], found[0])


def _scan_driving_face(
    job: AnimationJob, source: PreparedImage, info: media.VideoInfo
) -> _FaceScanned | None:
    """The face pass of ``--crop-driving auto``: one streaming pass over the driving video
    finds its main face track (the crop) and, for ``--align best``, its best frame.

    Faces are detected on `faces.default_stride` frames per second and linked into tubes;
    the tube with the most detections that looks like a face is the main one, cropped as
    ``animate crop --track auto`` would. Every frame is a candidate for the best frame
    (`faces.FaceScan`), measured on the main track's own face (its box interpolated
    between detections): by its 68 landmarks on the full frame (FOMM's normalised
    landmarks do not depend on position or scale, so they equal those of the final
    crop), else by model keypoints (`_face_keypoints`). Only each track's current best
    frame is kept, to compute its keypoints in the final crop.

    None when the video needs no crop (already a face crop) or shows no face.
    """
    options = job.options
    min_face = faces.default_min_face(info.width, info.height)
    detector = job.detector(options.detector, min_face)
    if _is_face_crop(info, detector):
        return None
    every = faces.default_stride(info.fps)
    relative = MotionMode(options.mode).canonical is MotionMode.RELATIVE
    search_best = relative and options.align == "best"
    landmarker = _landmark_detector(job) if search_best else None
    reference: np.ndarray | None = None
    if landmarker is not None:
        found = landmarker.landmarks(source.model_input)
        reference = found[0] if found else None
    if reference is None:
        landmarker = None
        if search_best:
            kp = job.runtime.animator.keypoints(frames_to_tensor(source.model_input))
            reference = kp.value[0].cpu().numpy()

    def measure(
        frames: Sequence[np.ndarray], boxes: Sequence[faces.FaceBox]
    ) -> list[np.ndarray | None]:
        if landmarker is not None:
            return [landmarker.landmarks_for(f, b) for f, b in zip(frames, boxes, strict=True)]
        return _face_keypoints(job, frames, boxes, options.crop_increase)

    scan = faces.FaceScan(
        lambda frame: [b for b in detector.detect(frame) if b.side >= min_face],
        every,
        reference,
        measure if reference is not None else None,
    )
    job.reporter.start("finding the driving face", info.frame_count_estimate)
    # Full-size frames: a short queue keeps memory small even for 4K input.
    with Prefetcher(decoded_frames(info, job.runtime.decoder), depth=2) as frames:
        for index, frame in enumerate(frames):
            scan.feed(index, frame)
            job.reporter.advance(1)
    tubes = [t for t in scan.finish() if faces.tube_rejection(t, every) is None]
    job.reporter.finish()
    if not tubes:
        if abs(info.width - info.height) > 0.02 * max(info.width, info.height):
            # As for the source: a square video is used whole anyway, nothing to say.
            job.notice(
                f"no face found in {Path(info.path).name}; animating whole frames ({options.fit})"
            )
        return None
    main = max(tubes, key=lambda t: len(t.boxes))
    ((_, path),) = faces.crop_paths(
        main, "auto", options.crop_increase, (info.height, info.width), float(info.fps)
    )
    method = f"{landmarker.name} face landmarks" if landmarker else "model keypoints"
    return _FaceScanned(DrivingCrop(path, detector.name), scan.best(main), method)
