"""The offline LBP cascade backend on a real face (skimage's astronaut): found at several
positions, scales and tilts, nothing on plain images, two faces as two tubes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from animatecli.faces import (
    FaceDetector,
    LbpCascadeBackend,
    TubeTracker,
)

from ..faces_testutil import (
    ASTRONAUT_FACE,
    astronaut,
    box_iou,
    make_canvas,
    place_astronaut,
)


def test_lbp_is_a_face_detector(lbp: LbpCascadeBackend) -> None:
    assert isinstance(lbp, FaceDetector)
    assert lbp.supports_landmarks is False
    with pytest.raises(NotImplementedError):
        lbp.landmarks(astronaut())


def test_lbp_finds_the_astronaut(lbp: LbpCascadeBackend) -> None:
    boxes = lbp.detect(astronaut())
    assert boxes, "no face found"
    assert box_iou(boxes[0].as_tuple(), ASTRONAUT_FACE) > 0.6
    assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True)


@pytest.mark.parametrize(
    ("scale", "center", "background"),
    [
        (0.6, (320, 180), "gray"),  # ~53 px face
        (0.6, (90, 70), "noise"),  # small, top-left
        (1.0, (520, 250), "noise"),  # bottom-right
        (1.0, (320, 180), "noise"),
        (1.6, (200, 170), "noise"),  # ~140 px face
        (2.3, (330, 170), "gray"),  # ~200 px face, most of the frame height
        (2.3, (520, 190), "noise"),  # large face cut by the right border
    ],
)
def test_lbp_finds_the_face_at_several_positions_and_scales(
    lbp: LbpCascadeBackend, scale: float, center: tuple[int, int], background: str
) -> None:
    frame, truth = place_astronaut(make_canvas(kind=background), scale, center)
    boxes = lbp.detect(frame)
    assert boxes, "no face found"
    assert box_iou(boxes[0].as_tuple(), truth) > 0.5, (boxes, truth)


def test_lbp_finds_a_tight_crop_and_a_tilted_head(lbp: LbpCascadeBackend) -> None:
    img = astronaut()
    # A 256×256 crop where the face covers ~80% of the width (FOMM's example images).
    crop = cv2.resize(img[60:170, 167:277], (256, 256), interpolation=cv2.INTER_CUBIC)
    boxes = lbp.detect(crop)
    assert boxes and boxes[0].width > 0.6 * 256
    # Tilted by 14°: the upright cascade pass misses it; the rotated retry must not.
    cx, cy = 222.0, 115.0
    rot = cv2.getRotationMatrix2D((cx, cy), 14.0, 1.0)
    tilted = cv2.warpAffine(img, rot, (512, 512), borderMode=cv2.BORDER_REFLECT)
    boxes = lbp.detect(tilted)
    assert boxes
    assert abs(boxes[0].center[0] - cx) < 25 and abs(boxes[0].center[1] - cy) < 25


def test_lbp_finds_nothing_on_plain_images(lbp: LbpCascadeBackend) -> None:
    assert lbp.detect(np.full((360, 640, 3), 90, np.uint8)) == []
    assert lbp.detect(np.zeros((10, 10, 3), np.uint8)) == []  # smaller than any face


def test_lbp_rejects_bad_images(lbp: LbpCascadeBackend) -> None:
    with pytest.raises(ValueError):
        lbp.detect(np.zeros((100, 100), np.uint8))
    with pytest.raises(ValueError):
        lbp.detect(np.zeros((100, 100, 3), np.float32))


def two_astronauts(dx: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    frame, left = place_astronaut(make_canvas(kind="gray"), 0.85, (165 + dx, 170))
    frame, right = place_astronaut(frame, 0.85, (475 + dx, 170))
    return frame, [left, right]


def test_two_faces_side_by_side_give_two_detections_and_two_tubes(
    lbp: LbpCascadeBackend,
) -> None:
    tracker = TubeTracker()
    for i in range(4):
        frame, truths = two_astronauts(dx=6 * i)  # slow pan
        boxes = lbp.detect(frame)
        assert len(boxes) == 2, boxes
        for truth in truths:
            assert max(box_iou(b.as_tuple(), truth) for b in boxes) > 0.5
        tracker.update(i, boxes)
    tubes = tracker.finish()
    assert len(tubes) == 2
    assert all((t.start_frame, t.end_frame) == (0, 3) for t in tubes)
    assert sorted(t.initial_box.center[0] < 320 for t in tubes) == [False, True]
