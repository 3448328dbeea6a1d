"""Tracking moving faces, telling faces from false hits, and the crops that follow them."""

from __future__ import annotations

import numpy as np
import pytest

from animatecli.faces import (
    FaceBox,
    FaceTracker,
    fixed_path,
    following_path,
    fomm_segments,
    square_crop_box,
    tube_rejection,
)


def box_at(cx: float, cy: float, side: float = 100.0, score: float = 1.0) -> FaceBox:
    return FaceBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, score)


def test_a_panning_face_stays_one_tube_and_fomm_would_cut_it() -> None:
    tracker = FaceTracker()
    for frame in range(0, 91, 6):  # 30 px per examined frame, 450 px in all
        tracker.update(frame, [box_at(100 + 5 * frame, 200)])
    (tube,) = tracker.finish()
    assert (tube.start_frame, tube.end_frame, len(tube.boxes)) == (0, 90, 16)
    segments = fomm_segments(tube)
    assert len(segments) > 3  # FOMM's first-box rule ends each piece after ~60 px
    assert all(s.num_frames < 30 for s in segments)


def test_one_missed_detection_does_not_split_a_tube_but_a_long_gap_does() -> None:
    tracker = FaceTracker(max_missed=2)
    for frame in range(0, 60, 6):
        faces = [] if frame in (18, 24) else [box_at(300, 200)]
        tracker.update(frame, faces)
    assert len(tracker.finish()) == 1
    tracker = FaceTracker(max_missed=2)
    for frame in range(0, 60, 6):
        tracker.update(frame, [] if 12 <= frame <= 30 else [box_at(300, 200)])
    assert [t.start_frame for t in tracker.finish()] == [0, 36]


def test_two_faces_are_two_tubes_and_each_detection_joins_one() -> None:
    tracker = FaceTracker()
    for frame in range(0, 30, 5):
        tracker.update(frame, [box_at(150 + frame, 200), box_at(450 - frame, 200)])
    left, right = tracker.finish()
    assert len(left.boxes) == len(right.boxes) == 6
    assert left.union_box.x2 < right.union_box.x1


def test_tube_rejection_keeps_faces_and_drops_flicker() -> None:
    tracker = FaceTracker()
    for frame in range(0, 60, 6):
        tracker.update(frame, [box_at(300, 200, 100 + frame / 6)])  # slow zoom
    (face,) = tracker.finish()
    assert tube_rejection(face, 6) is None
    tracker = FaceTracker()
    for frame in range(0, 60, 6):
        tracker.update(frame, [box_at(300, 200, 100 if frame % 12 else 150)])
    (flicker,) = tracker.finish()
    assert "size changes" in str(tube_rejection(flicker, 6))
    tracker = FaceTracker()
    tracker.update(0, [box_at(300, 200)])
    tracker.update(6, [box_at(300, 200)])
    assert "only 2 detection" in str(tube_rejection(tracker.finish()[0], 6))


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
