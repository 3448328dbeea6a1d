"""`faces.FaceScan`: one pass that tracks faces on a stride and searches every frame of each
track for the source's pose, on real faces (skimage's astronaut) with dlib landmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from animatecli import faces
from animatecli.faces import FaceBox

from .faces_testutil import astronaut
from .footage import DISTRACTOR_FRAMES, TILTS, tilting_with_distractor

EVERY = 6  # the default stride at 30 fps


@pytest.fixture(scope="module")
def dlib_backend() -> faces.DlibBackend:
    return faces.DlibBackend(min_face=45)


def test_interpolated_box_moves_linearly() -> None:
    a, b = FaceBox(0, 0, 10, 10, 0.9), FaceBox(30, 6, 50, 26, 0.5)
    assert faces.interpolate_box(a, b, 0.5) == FaceBox(15, 3, 30, 18, 0.5)
    assert faces.interpolate_box(a, b, 0.0).as_tuple() == a.as_tuple()


def test_every_frame_of_the_main_track_is_a_candidate_on_its_own_face(
    dlib_backend: faces.DlibBackend,
) -> None:
    frames = tilting_with_distractor()
    index_of = {id(f): i for i, f in enumerate(frames)}
    measured: dict[int, list[FaceBox]] = {}

    def measure(batch: Sequence[np.ndarray], boxes: Sequence[FaceBox]) -> list[np.ndarray]:
        for frame, box in zip(batch, boxes, strict=True):
            measured.setdefault(index_of[id(frame)], []).append(box)
        return [dlib_backend.landmarks_for(f, b) for f, b in zip(batch, boxes, strict=True)]

    reference = dlib_backend.landmarks(astronaut())[0]
    scan = faces.FaceScan(dlib_backend.detect, EVERY, reference, measure)
    for index, frame in enumerate(frames):
        scan.feed(index, frame)
    tubes = scan.finish()
    # Detection ran on the stride and on the last frame only.
    assert scan.examined == len(range(0, len(TILTS), EVERY)) + 1
    distractor, main = sorted(tubes, key=lambda t: len(t.boxes))
    assert main.start_frame == 0 and main.end_frame == len(TILTS) - 1
    assert distractor.end_frame < DISTRACTOR_FRAMES
    # The main face's best frame is the upright one, between two examined frames; the
    # upright distractor never competes with it.
    best = scan.best(main)
    assert best is not None and best[0] == TILTS.index(0) and best[0] % EVERY
    assert best[1] is frames[best[0]]
    assert scan.best(distractor) is not None
    # Every frame was measured, each on boxes interpolated between detections: the main
    # face's box on frame 9 lies halfway between its detections on frames 6 and 12.
    assert sorted(measured) == list(range(len(TILTS)))
    main_box = next(b for b in measured[9] if b.center[0] > 320)
    halfway = faces.interpolate_box(main.boxes[6], main.boxes[12], 0.5)
    assert main_box.as_tuple() == pytest.approx(halfway.as_tuple())


def test_without_a_reference_it_only_tracks(dlib_backend: faces.DlibBackend) -> None:
    frames = tilting_with_distractor()
    scan = faces.FaceScan(dlib_backend.detect, EVERY)
    for index, frame in enumerate(frames):
        scan.feed(index, frame)
    tubes = scan.finish()
    assert [len(t.boxes) for t in tubes] == [3, 5]
    assert all(scan.best(t) is None for t in tubes)
    with pytest.raises(ValueError, match="expected frame"):
        scan.feed(0, frames[0])
