"""Box geometry: FOMM's IoU and crop rule reproduced exactly, our square crop, tight crops."""

from __future__ import annotations

import random

import pytest

from animatecli.faces import FaceBox, enlarge_box, iou, is_tight_face_crop, square_crop_box


def fomm_compute_bbox(
    tube_bbox: tuple[float, float, float, float], frame_shape: tuple[int, int], inc: float
) -> tuple[int, int, int, int]:
    """FOMM crop-video.py ``compute_bbox`` geometry, transcribed line by line."""
    left, top, right, bot = tube_bbox
    width = right - left
    height = bot - top
    width_increase = max(inc, ((1 + 2 * inc) * height - width) / (2 * width))
    height_increase = max(inc, ((1 + 2 * inc) * width - height) / (2 * height))
    left = int(left - width_increase * width)
    top = int(top - height_increase * height)
    right = int(right + width_increase * width)
    bot = int(bot + height_increase * height)
    top, bot, left, right = (
        max(0, top),
        min(bot, frame_shape[0]),
        max(0, left),
        min(right, frame_shape[1]),
    )
    return left, top, right, bot


def test_iou_uses_inclusive_pixels() -> None:
    a = (0, 0, 9, 9)  # 10×10 pixels
    assert iou(a, a) == 1.0
    assert iou(a, (5, 0, 14, 9)) == pytest.approx(50 / 150)
    # Sharing one pixel column still overlaps under the inclusive convention.
    assert iou(a, (9, 0, 18, 9)) == pytest.approx(10 / 190)
    assert iou(a, (10, 0, 19, 9)) == 0.0
    assert iou(a, (100, 100, 120, 130)) == 0.0


def test_iou_accepts_faceboxes_and_is_symmetric() -> None:
    a = FaceBox(10, 20, 50, 80, score=0.9)
    b = (30.5, 25.0, 70.0, 90.0)
    assert iou(a, b) == pytest.approx(iou(b, a))
    assert 0 < iou(a, b) < 1


@pytest.mark.parametrize(
    "box",
    [
        (100, 100, 150, 200),  # tall
        (100, 100, 200, 150),  # wide
        (300, 100, 380, 180),  # square
        (5, 5, 60, 70),  # near the top-left corner: clamped
        (580, 300, 639, 359),  # near the bottom-right corner
        (10.7, 20.2, 55.9, 99.4),  # fractional
    ],
)
def test_enlarge_box_matches_fomm(box: tuple[float, float, float, float]) -> None:
    assert enlarge_box(box, 0.1, (360, 640)) == fomm_compute_bbox(box, (360, 640), 0.1)
    assert enlarge_box(FaceBox(*box), 0.25, (360, 640)) == fomm_compute_bbox(box, (360, 640), 0.25)


def test_enlarge_box_worked_example() -> None:
    # W=50, H=100, a=0.1: wi = max(0.1, (120-50)/100) = 0.7, hi = 0.1 -> a 120×120 square.
    assert enlarge_box((100, 100, 150, 200), 0.1, (1000, 1000)) == (65, 90, 185, 210)
    assert enlarge_box((100, 100, 150, 200), 0.1) == (65, 90, 185, 210)


def test_enlarge_box_rejects_empty_box() -> None:
    with pytest.raises(ValueError):
        enlarge_box((10, 10, 10, 50), 0.1, (100, 100))


def test_square_crop_matches_fomm_size_away_from_borders() -> None:
    box = (300, 100, 350, 200)
    x0, y0, x1, y1 = square_crop_box(box, 0.1, (720, 1280))
    assert x1 - x0 == y1 - y0 == 120
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == (325, 150)
    fl, ft, fr, fb = enlarge_box(box, 0.1, (720, 1280))
    assert (fr - fl, fb - ft) == (120, 120)


def test_square_crop_slides_inside_at_the_border_instead_of_squashing() -> None:
    box = (5, 5, 105, 105)  # 100 px face in the top-left corner
    assert enlarge_box(box, 0.1, (360, 640)) == (0, 0, 115, 115)  # FOMM clamps: not 120×120
    x0, y0, x1, y1 = square_crop_box(box, 0.1, (360, 640))
    assert (x0, y0, x1, y1) == (0, 0, 120, 120)
    x0, y0, x1, y1 = square_crop_box((560, 300, 640, 360), 0.1, (360, 640))
    assert (x1, y1) == (640, 360) and x1 - x0 == y1 - y0 == 96


def test_square_crop_shrinks_only_to_the_frame() -> None:
    # Face nearly as tall as the frame: the square is limited by the frame height.
    x0, y0, x1, y1 = square_crop_box((200, 10, 400, 350), 0.1, (360, 640))
    assert (y0, y1) == (0, 360) and x1 - x0 == 360
    assert x0 >= 0 and x1 <= 640


def test_square_crop_is_always_square_and_inside() -> None:
    rng = random.Random(0)
    for _ in range(500):
        fh, fw = rng.randint(16, 1080), rng.randint(16, 1920)
        x1, y1 = rng.uniform(-50, fw), rng.uniform(-50, fh)
        w, h = rng.uniform(1, fw), rng.uniform(1, fh)
        inc = rng.uniform(0, 0.5)
        x0, y0, xe, ye = square_crop_box((x1, y1, x1 + w, y1 + h), inc, (fh, fw))
        assert xe - x0 == ye - y0 >= 1
        assert x0 >= 0 and y0 >= 0 and xe <= fw and ye <= fh
        assert xe - x0 == min(round((1 + 2 * inc) * max(w, h)), fh, fw)


def test_is_tight_face_crop() -> None:
    assert is_tight_face_crop((256, 256), (40, 30, 210, 220))
    assert is_tight_face_crop((260, 250), FaceBox(50, 40, 200, 210))
    assert not is_tight_face_crop((360, 640), (240, 80, 400, 280))  # landscape frame
    assert not is_tight_face_crop((512, 512), (178, 62, 266, 168))  # small face in a photo
    assert not is_tight_face_crop((256, 256), (0, 0, 150, 150))  # face in a corner
