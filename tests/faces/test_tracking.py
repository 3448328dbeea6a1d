"""Tube tracking on synthetic box sequences: FOMM's crop-video semantics; tracking moving faces
and telling faces from false hits."""

from __future__ import annotations

import pytest

from animatecli.faces import (
    FaceBox,
    FaceTracker,
    TubeTracker,
    fomm_segments,
    iou,
    track_faces,
    tube_rejection,
)

from .faces_testutil import box_at


def box(x: float, y: float, size: float = 100.0, score: float = 1.0) -> FaceBox:
    return FaceBox(x, y, x + size, y + size, score)


def fomm_reference(frames: list[list[FaceBox]], thr: float) -> list[list[object]]:
    """FOMM crop-video.py ``process_video`` trajectory loop, transcribed (returns every tube)."""
    trajectories: list[list[object]] = []
    created: list[list[object]] = []  # every trajectory, in creation order
    for i, bboxes in enumerate(frames):
        valid = []
        for trajectory in trajectories:
            intersection = 0.0
            for bbox in bboxes:
                intersection = max(intersection, iou(trajectory[0], bbox))  # type: ignore[arg-type]
            if intersection > thr:
                valid.append(trajectory)
        trajectories = valid
        for bbox in bboxes:
            intersection = 0.0
            current = None
            for trajectory in trajectories:
                cur = iou(trajectory[0], bbox)  # type: ignore[arg-type]
                if intersection < cur and cur > thr:
                    intersection = cur
                    current = trajectory
            if current is None:
                trajectories.append([bbox, bbox, i, i])
                created.append(trajectories[-1])
            else:
                u = current[1]
                assert isinstance(u, FaceBox)
                current[3] = i
                current[1] = FaceBox(
                    min(u.x1, bbox.x1), min(u.y1, bbox.y1), max(u.x2, bbox.x2), max(u.y2, bbox.y2)
                )
    return created


def test_one_moving_face_is_one_tube() -> None:
    frames = [[box(100 + 5 * i, 50 + 2 * i)] for i in range(10)]
    tubes = track_faces(enumerate(frames))
    assert len(tubes) == 1
    t = tubes[0]
    assert (t.start_frame, t.end_frame, t.num_frames) == (0, 9, 10)
    assert t.initial_box == frames[0][0]
    assert t.union_box.as_tuple() == (100, 50, 245, 168)
    assert sorted(t.boxes) == list(range(10))
    assert t.boxes[3] == frames[3][0]


def test_drifting_too_far_from_the_initial_box_starts_a_new_tube() -> None:
    # Moving 20 px/frame: IoU with the *initial* box drops below 0.25 after a while even though
    # consecutive boxes overlap a lot.
    frames = [[box(20 * i, 0)] for i in range(10)]
    tubes = track_faces(enumerate(frames))
    assert len(tubes) > 1
    assert tubes[0].closed
    assert tubes[1].initial_box == frames[tubes[1].start_frame][0]


def test_two_faces_two_tubes() -> None:
    frames = [[box(50 + i, 50, score=0.9), box(400 - i, 60, score=0.8)] for i in range(6)]
    tubes = track_faces(enumerate(frames))
    assert len(tubes) == 2
    assert [t.initial_box.x1 for t in tubes] == [50, 400]
    assert all((t.start_frame, t.end_frame) == (0, 5) for t in tubes)


def test_face_disappearing_and_reappearing_gives_two_tubes() -> None:
    frames: list[list[FaceBox]] = [[box(100, 100)]] * 4 + [[]] * 3 + [[box(102, 101)]] * 4
    tubes = track_faces(enumerate(frames))
    assert [(t.start_frame, t.end_frame) for t in tubes] == [(0, 3), (7, 10)]
    assert tubes[0].closed and not tubes[1].closed


def test_skipped_frames_do_not_break_a_tube() -> None:
    # Detection every 5th frame: frames in between are never reported.
    tracker = TubeTracker()
    for i in range(0, 50, 5):
        tracker.update(i, [box(100 + i, 100)])
    (tube,) = tracker.finish()
    assert (tube.start_frame, tube.end_frame, tube.num_frames) == (0, 45, 46)
    assert sorted(tube.boxes) == list(range(0, 50, 5))


def test_threshold_is_strict() -> None:
    a = (0.0, 0.0, 99.0, 99.0)  # 100×100 inclusive
    b = FaceBox(*a)
    # Shift so that IoU is exactly 1/3 (inter 50×100, union 150×100).
    c = FaceBox(50.0, 0.0, 149.0, 99.0)
    assert iou(b, c) == pytest.approx(1 / 3)
    assert len(track_faces([(0, [b]), (1, [c])], iou_with_initial=1 / 3)) == 2
    assert len(track_faces([(0, [b]), (1, [c])], iou_with_initial=0.33)) == 1


def test_ties_go_to_the_first_tube_and_same_frame_detections_can_join_new_tubes() -> None:
    tracker = TubeTracker(iou_with_initial=0.25)
    # Frame 0: two detections; the second overlaps the first enough to join the new tube.
    d0, d1 = box(0, 0), box(10, 0)
    tracker.update(0, [d0, d1])
    tubes = tracker.finish()
    assert len(tubes) == 1
    assert tubes[0].union_box.as_tuple() == (0, 0, 110, 100)
    assert tubes[0].boxes[0] == d0  # d0 has IoU 1 with the initial box, d1 less
    # A detection exactly between two tubes (equal IoU with both initial boxes) goes to the
    # first; the second survives the frame (the detection overlaps it) without growing.
    tracker = TubeTracker(iou_with_initial=0.3)
    tracker.update(0, [box(0, 0), box(60, 0)])  # IoU 41/161 < 0.3: two tubes
    first, second = tracker.finish()
    middle = box(30, 0)
    assert iou(first.initial_box, middle) == iou(second.initial_box, middle) > 0.3
    tracker.update(1, [middle])
    assert first.end_frame == 1 and second.end_frame == 0
    assert not second.closed and second in tracker.open_tubes


def test_frame_indices_must_increase() -> None:
    tracker = TubeTracker()
    tracker.update(3, [])
    with pytest.raises(ValueError):
        tracker.update(3, [])


def test_matches_fomm_reference_on_random_sequences() -> None:
    import random

    rng = random.Random(1)
    for _ in range(200):
        frames = []
        for _ in range(rng.randint(1, 15)):
            frames.append(
                [
                    box(rng.choice([0, 40, 300]) + rng.uniform(-30, 30), rng.uniform(0, 40))
                    for _ in range(rng.randint(0, 3))
                ]
            )
        thr = rng.choice([0.1, 0.25, 0.5])
        ours = track_faces(enumerate(frames), thr)
        ref = fomm_reference(frames, thr)
        assert [(t.initial_box, t.start_frame, t.end_frame) for t in ours] == [
            (r[0], r[2], r[3]) for r in ref
        ]
        for t, r in zip(ours, ref, strict=True):
            assert t.union_box.as_tuple() == r[1].as_tuple()  # type: ignore[attr-defined]


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
