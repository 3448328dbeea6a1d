"""The crop paths a face's tube becomes: FOMM's fixed square, or a square that follows the face
smoothly (animatecli.faces.crop_path)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from animatecli.faces import (
    CropPath,
    FaceTracker,
    FaceTube,
    crop_paths,
    fixed_path,
    following_path,
    fomm_segments,
    square_crop_box,
)
from animatecli.faces.crop_path import STATIC_SPREAD

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


def test_a_crop_path_holds_its_ends_and_rounds_its_squares() -> None:
    centers = np.array([[50.0, 40.0], [50.4, 40.6], [53.0, 40.0]])
    path = CropPath(10, centers, side=21, follows=True)
    assert path.end_frame == 12
    assert path.center_at(0) == path.center_at(10) == (50.0, 40.0)  # before: the first
    assert path.center_at(99) == (53.0, 40.0)  # after: the last
    # Half-open squares of one side whose centre is the nearest half-pixel to the centre.
    assert path.box_at(10) == (40, 30, 61, 51)
    assert path.box_at(11) == (40, 30, 61, 51)  # 50.4 - 10.5 = 39.9 rounds to 40, 40.6 to 30
    assert path.max_step() == pytest.approx(2.6)  # 50.4 -> 53.0
    assert CropPath(0, centers[:1], 21, follows=False).max_step() == 0.0


def test_a_steady_pan_is_followed_exactly_to_its_first_and_last_frame() -> None:
    tracker = FaceTracker()
    for frame in range(0, 61, 6):
        tracker.update(frame, [box_at(200 + 3 * frame, 180, 100)])
    (pan,) = tracker.finish()
    path = following_path(pan, 0.1, (360, 640), fps=30.0, smooth_seconds=0.5)
    expected_x = 200 + 3 * np.arange(61)
    # Odd reflection at the ends continues the pan: no pull towards the middle.
    np.testing.assert_allclose(path.centers[:, 0], expected_x, atol=1e-9)
    np.testing.assert_allclose(path.centers[:, 1], 180.0, atol=1e-9)
    assert path.side == 120 and (path.start_frame, path.end_frame) == (0, 60)


def test_a_following_square_is_clipped_to_the_frame_and_never_larger() -> None:
    tracker = FaceTracker()
    for frame in range(0, 31, 6):
        tracker.update(frame, [box_at(40, 300, 300)])  # a big face in a corner
    (corner,) = tracker.finish()
    path = following_path(corner, 0.1, (360, 640), fps=30.0)
    assert path.side == 360  # 1.2 × 300 = 360, the frame's height
    assert all(path.box_at(i) == (0, 0, 360, 360) for i in range(31))


def wandering_tube(distance: float) -> FaceTube:
    tracker = FaceTracker()
    for frame in range(0, 61, 6):
        tracker.update(frame, [box_at(200 + distance * frame / 60, 180, 100)])
    (tube,) = tracker.finish()
    return tube


def test_auto_keeps_one_fixed_crop_until_the_face_wanders_half_its_size() -> None:
    still = wandering_tube(40)  # union box 140 px wide: 1.4 face sizes
    ((part, path),) = crop_paths(still, "auto", 0.1, (360, 640), fps=30.0)
    assert part is still and not path.follows
    assert (path.start_frame, path.end_frame) == (0, 60)
    moving = wandering_tube(60)  # 160 px: past STATIC_SPREAD (1.5)
    assert moving.union_box.side > STATIC_SPREAD * moving.median_side
    ((_, path),) = crop_paths(moving, "auto", 0.1, (360, 640), fps=30.0)
    assert path.follows


def test_static_cuts_fomms_segments_and_follow_gives_one_path() -> None:
    tube = wandering_tube(300)
    parts = crop_paths(tube, "static", 0.1, (360, 640), fps=30.0)
    assert len(parts) == len(fomm_segments(tube)) > 1
    assert all(not path.follows for _, path in parts)
    # The pieces cover the tube, one after the other, each with its own fixed square.
    assert parts[0][0].start_frame == 0 and parts[-1][0].end_frame == 60
    for (part, path), (following, _) in itertools.pairwise(parts):
        assert (path.start_frame, path.end_frame) == (part.start_frame, part.end_frame)
        assert following.start_frame > part.end_frame
    ((_, path),) = crop_paths(wandering_tube(10), "follow", 0.1, (360, 640), fps=30.0)
    assert path.follows


def test_an_unknown_track_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="track must be one of auto, static, follow"):
        crop_paths(wandering_tube(0), "sometimes", 0.1, (360, 640), fps=30.0)
