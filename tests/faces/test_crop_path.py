"""The crop paths a face's tube becomes: FOMM's fixed square, or a square that follows the face
smoothly (animatecli.faces.crop_path)."""

from __future__ import annotations

import numpy as np
import pytest

from animatecli.faces import FaceTracker, fixed_path, following_path, square_crop_box

from .faces_testutil import box_at


def test_fixed_path_is_fomms_square_for_every_frame() -> None:
    tracker = FaceTracker()
    for frame in (0, 5, 10):
        tracker.update(frame, [box_at(300 + frame, 200)])
    (tube,) = tracker.finish()
    path = fixed_path(tube, 0.1, (360, 640), 0, 10)
    assert not path.follows and path.max_step() == 0.0
    expected = square_crop_box(tube.union_box, 0.1, (360, 640))
    assert all(path.box_at(i) == expected for i in range(11))
    assert path.box_at(-5) == path.box_at(50) == expected  # outside: held


def test_following_path_is_smooth_on_a_shaking_face_and_keeps_up_with_a_pan() -> None:
    rng = np.random.default_rng(0)
    tracker = FaceTracker()
    for frame in range(0, 151, 6):  # 5 s at 30 fps, detections off by up to 4 px
        cx, cy = 320 + rng.uniform(-4, 4), 180 + rng.uniform(-4, 4)
        tracker.update(frame, [box_at(cx, cy, 120 + rng.uniform(-3, 3))])
    (still,) = tracker.finish()
    path = following_path(still, 0.1, (360, 640), fps=30.0)
    assert path.follows and path.max_step() < 0.5
    assert path.side == round(1.2 * still.median_side)

    tracker = FaceTracker()
    for frame in range(0, 91, 6):
        tracker.update(frame, [box_at(150 + 4 * frame, 180, 120)])
    (pan,) = tracker.finish()
    path = following_path(pan, 0.1, (360, 640), fps=30.0)
    x0, y0, x1, y1 = path.box_at(45)
    assert (x0 + x1) / 2 == pytest.approx(150 + 4 * 45, abs=2)  # no lag mid-pan
    for frame in range(91):  # every square inside the frame
        x0, y0, x1, y1 = path.box_at(frame)
        assert x0 >= 0 and x1 <= 640 and y0 >= 0 and y1 <= 360 and x1 - x0 == path.side
