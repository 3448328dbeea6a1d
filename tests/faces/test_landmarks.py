"""Best-frame math: FOMM's landmark normalisation and the incremental search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from animatecli.faces import BestFrameSearch, landmark_distance, normalize_landmarks


def random_points(n: int = 68, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 200, (n, 2))


def fomm_normalize_kp(kp: np.ndarray) -> np.ndarray:
    """FOMM demo.py ``normalize_kp``, transcribed."""
    kp = kp - kp.mean(axis=0, keepdims=True)
    area = ConvexHull(kp[:, :2]).volume
    area = np.sqrt(area)
    kp[:, :2] = kp[:, :2] / area
    return kp


def test_normalize_matches_fomm_and_is_centred_with_unit_hull_area() -> None:
    pts = random_points()
    out = normalize_landmarks(pts)
    assert out.dtype == np.float64 and out.shape == (68, 2)
    np.testing.assert_allclose(out, fomm_normalize_kp(pts.copy()), rtol=1e-12)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    assert ConvexHull(out).volume == pytest.approx(1.0)


def test_normalize_removes_translation_and_scale() -> None:
    pts = random_points(seed=3)
    moved = pts * 3.5 + np.array([100.0, -40.0])
    np.testing.assert_allclose(normalize_landmarks(moved), normalize_landmarks(pts), atol=1e-12)
    assert landmark_distance(normalize_landmarks(moved), normalize_landmarks(pts)) < 1e-20


@pytest.mark.parametrize(
    "pts",
    [
        np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),  # collinear, diagonal
        np.array([[0.0, 5.0], [1.0, 5.0], [4.0, 5.0]]),  # collinear, horizontal
        np.array([[2.0, 2.0]] * 5),  # coincident
        np.array([[0.0, 0.0], [3.0, 4.0]]),  # two points
    ],
)
def test_degenerate_points_do_not_crash(pts: np.ndarray) -> None:
    out = normalize_landmarks(pts)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)


def test_degenerate_fallback_scales() -> None:
    diag = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])
    # No hull: divided by sqrt(bounding-box area) = 4.
    np.testing.assert_allclose(normalize_landmarks(diag), (diag - 2.0) / 4.0)
    flat = np.array([[0.0, 1.0], [4.0, 1.0]])
    # Zero bounding-box area: divided by 1.
    np.testing.assert_allclose(normalize_landmarks(flat), flat - [2.0, 1.0])


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        normalize_landmarks(np.zeros((68, 3)))
    with pytest.raises(ValueError):
        normalize_landmarks(np.array([[np.nan, 1.0], [1, 2], [3, 1]]))
    with pytest.raises(ValueError):
        landmark_distance(np.zeros((68, 2)), np.zeros((10, 2)))


def test_best_frame_search_finds_the_closest_pose() -> None:
    ref = random_points(seed=1)
    search = BestFrameSearch(ref)
    assert search.best_index is None and search.best_distance == float("inf")
    rng = np.random.default_rng(2)
    noise_levels = [8.0, 5.0, None, 0.5, 3.0, None, 6.0]
    for i, level in enumerate(noise_levels):
        if level is None:
            assert search.update(i, None) is None  # no face in that frame
            continue
        # Each frame: the reference pose, moved and rescaled, plus pose noise.
        frame = (ref + rng.normal(0, level, ref.shape)) * 1.7 + 30.0
        assert search.update(i, frame) == pytest.approx(
            landmark_distance(normalize_landmarks(ref), normalize_landmarks(frame))
        )
    assert search.best_index == 3
    assert 0 < search.best_distance < 0.01


def test_best_frame_ties_keep_the_earliest_and_any_point_count_works() -> None:
    ref = random_points(n=10, seed=5)  # e.g. the model's 10 keypoints
    search = BestFrameSearch(ref)
    pose = ref * 1.5 + 7.0
    first = search.update(0, pose)
    second = search.update(1, pose.copy())  # bit-identical distance: a tie
    assert first == second
    assert search.best_index == 0
    with pytest.raises(ValueError):
        search.update(2, random_points(n=68))
