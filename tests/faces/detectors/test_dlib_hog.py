"""The dlib backend on real faces (skimage's astronaut): boxes, 68 landmarks, detection scale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from animatecli.faces import DlibBackend, FaceDetector, backend_statuses, make_detector
from animatecli.faces.detectors.dlib_hog import HOG_WINDOW, detection_scale

from ..faces_testutil import ASTRONAUT_FACE, astronaut, box_iou, make_canvas, place_astronaut
from ..footage import scale_for


@pytest.fixture(scope="module")
def dlib_backend() -> DlibBackend:
    return DlibBackend()


def test_dlib_is_an_offline_landmark_backend(dlib_backend: DlibBackend) -> None:
    assert isinstance(dlib_backend, FaceDetector)
    assert dlib_backend.name == "dlib" and dlib_backend.supports_landmarks
    statuses = {s.name: s for s in backend_statuses()}
    assert statuses["dlib"].usable and statuses["dlib"].reason is None
    assert statuses["lbp"].usable and not statuses["lbp"].landmarks
    assert isinstance(make_detector("dlib"), DlibBackend)


def test_dlib_finds_the_astronaut_with_plausible_landmarks(dlib_backend: DlibBackend) -> None:
    image = astronaut()
    boxes = dlib_backend.detect(image)
    assert len(boxes) == 1  # her face only: no hit on the helmet, the flag or the suit
    assert box_iou(boxes[0].as_tuple(), ASTRONAUT_FACE) > 0.6
    (points,) = dlib_backend.landmarks(image)
    assert points.shape == (68, 2) and points.dtype == np.float64
    x1, y1, x2, y2 = ASTRONAUT_FACE
    assert (points[:, 0] > x1 - 15).all() and (points[:, 0] < x2 + 15).all()
    assert (points[:, 1] > y1 - 15).all() and (points[:, 1] < y2 + 15).all()
    # iBUG order: her right eye (36-41, image left) left of her left eye (42-47), both above
    # the nose tip (30), which is above the mouth (48-67), which is above the chin (8).
    right_eye, left_eye = points[36:42].mean(0), points[42:48].mean(0)
    assert right_eye[0] < points[30, 0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < points[30, 1] < points[48:68, 1].mean() < points[8, 1]


def test_downscaled_detection_maps_boxes_back_to_full_size(dlib_backend: DlibBackend) -> None:
    frame, truth = place_astronaut(make_canvas(1080, 1920, "noise", seed=1), 3.0, (1200, 500))
    assert detection_scale(frame.shape[:2], None) == pytest.approx(640 / 1920)
    boxes = dlib_backend.detect(frame)
    assert len(boxes) == 1
    assert box_iou(boxes[0].as_tuple(), truth) > 0.6
    (points,) = dlib_backend.landmarks(frame)
    assert (
        box_iou((*points.min(0), *points.max(0)), boxes[0].as_tuple()) > 0.5
    )  # landmarks found on the full-size frame, around the mapped-back box


def test_min_face_sets_the_scale_and_recovers_small_faces_in_wide_shots() -> None:
    face_side = 110.0  # forehead to chin; dlib's box is about 90 px
    frame, truth = place_astronaut(
        make_canvas(1080, 1920, "noise", seed=2), scale_for(face_side), (1400, 400)
    )
    # The default copy (640 px wide) only sees faces of 240 px and more: this one is missed.
    assert DlibBackend().detect(frame) == []
    small = DlibBackend(min_face=80)
    assert detection_scale(frame.shape[:2], 80) == pytest.approx(HOG_WINDOW / 80)
    (box,) = small.detect(frame)
    assert box_iou(box.as_tuple(), truth) > 0.5


def test_model_sized_crops_are_enlarged_before_detection(dlib_backend: DlibBackend) -> None:
    crop = cv2.resize(astronaut()[40:200, 140:300], (128, 128), interpolation=cv2.INTER_AREA)
    assert detection_scale(crop.shape[:2], None) == 2.0  # to 256 px
    (points,) = dlib_backend.landmarks(crop)
    assert points.shape == (68, 2) and (points >= -5).all() and (points <= 133).all()


def test_dlib_finds_nothing_on_plain_images_and_rejects_bad_input(
    dlib_backend: DlibBackend,
) -> None:
    assert dlib_backend.detect(make_canvas(360, 640, "noise", seed=8)) == []
    assert dlib_backend.landmarks(make_canvas(200, 200, "gray")) == []
    with pytest.raises(ValueError):
        dlib_backend.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        DlibBackend(min_face=80).detect(np.zeros((10, 10, 3), np.float32))
