"""The source stage: the photo loaded and the region(s) the model animates chosen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import faces, media

if TYPE_CHECKING:
    from .job import AnimationJob


@dataclass
class PreparedImage:
    """The source as the model sees it, and where it sits in the original photo."""

    full: np.ndarray  # H×W×3 uint8, the photo as loaded
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) region of ``full`` that was animated
    model_input: np.ndarray  # h×w×3 uint8 at the model's frame shape
    face_found: bool | None  # None when no detection ran


def prepare_source(job: AnimationJob, path: Path) -> PreparedImage:
    """Load the photo and choose the region to animate (face crop or fitted frame)."""
    options, frame_hw = job.options, job.runtime.frame_hw
    image = media.load_image(path)
    h, w = image.shape[:2]
    box = media.fit_box((h, w), frame_hw, options.fit)
    face_found: bool | None = None
    if options.crop_source == "auto" and job.runtime.face_model:
        detector = job.detector(options.detector)
        threshold = faces.confident_score(detector.name)
        # Only confident detections: a weak false positive would crop a random region.
        detections = [d for d in detector.detect(image) if d.score >= threshold]
        face_found = bool(detections)
        if detections:
            face = detections[0]
            if not faces.is_tight_face_crop((h, w), face):
                box = faces.square_crop_box(face, options.crop_increase, (h, w))
        elif abs(h - w) > 0.02 * max(h, w):
            job.notice(f"no face found in {path.name}; animating the whole image ({options.fit})")
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1]
    if (x0, y0, x1, y1) == (0, 0, w, h):
        model_input = media.fit_image(image, frame_hw, options.fit)
    else:
        model_input = media.fit_image(region, frame_hw, "stretch")
    return PreparedImage(image, (x0, y0, x1, y1), model_input, face_found)


def prepare_faces(job: AnimationJob, path: Path) -> list[PreparedImage]:
    """``--faces all|N``: one square crop per confidently detected face, largest first
    (FOMM's margin, slid inside the photo); empty when the photo shows no face."""
    options = job.options
    image = media.load_image(path)
    detector = job.detector(options.detector)
    threshold = faces.confident_score(detector.name)
    found = sorted(
        (d for d in detector.detect(image) if d.score >= threshold),
        key=lambda d: d.side,
        reverse=True,
    )
    wanted = options.face_limit()
    if wanted is not None and len(found) < wanted:
        job.notice(
            f"--faces {wanted}: found {len(found)} face{'s' * (len(found) != 1)} in "
            f"{path.name}; animating {'both' if len(found) == 2 else 'all of them'}"
            if found
            else f"--faces {wanted}: no face found in {path.name}"
        )
    prepared = []
    for face in found[:wanted]:
        x0, y0, x1, y1 = faces.square_crop_box(face, options.crop_increase, image.shape[:2])
        model_input = media.fit_image(image[y0:y1, x0:x1], job.runtime.frame_hw, "stretch")
        prepared.append(PreparedImage(image, (x0, y0, x1, y1), model_input, True))
    return prepared
