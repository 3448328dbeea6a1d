"""Convex hull areas (animatecli.geometry), against shapes whose area is known and SciPy's
Qhull."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial import ConvexHull

from animatecli.geometry import convex_hull_area


def test_a_square_with_points_inside_and_on_its_edges() -> None:
    square = [(0, 0), (2, 0), (2, 2), (0, 2)]
    inside = [(1, 1), (0.5, 1.5), (1, 0), (2, 1)]  # interior points and points on edges
    assert convex_hull_area(square + inside) == 4.0


def test_the_area_does_not_depend_on_order_or_repeats() -> None:
    triangle = [(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)]
    assert convex_hull_area(triangle) == 6.0
    assert convex_hull_area(triangle[::-1] + triangle) == 6.0


def test_a_regular_polygon() -> None:
    n, r = 68, 0.5
    points = [
        (r * math.cos(2 * math.pi * k / n), r * math.sin(2 * math.pi * k / n)) for k in range(n)
    ]
    expected = 0.5 * n * r * r * math.sin(2 * math.pi / n)
    assert convex_hull_area(points) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "points",
    [[], [(1, 1)], [(1, 1), (1, 1), (2, 2)], [(0, 0), (1, 1), (2, 2), (3, 3)]],
)
def test_fewer_than_three_distinct_points_or_a_line_have_no_area(points: list) -> None:
    assert convex_hull_area(points) == 0.0


def test_arrays_and_tensors_give_the_same_area_as_lists() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(-1, 1, size=(10, 2))
    area = convex_hull_area(points.tolist())
    assert area > 0
    assert convex_hull_area(points) == area
    assert convex_hull_area(torch.from_numpy(points)) == area
    # Every point of the cloud is inside its hull: adding the hull's centroid changes nothing.
    assert convex_hull_area([*points.tolist(), points.mean(axis=0).tolist()]) == area


def test_convex_hull_area_matches_qhull() -> None:
    # Our monotone chain against SciPy's Qhull (a test-only dependency now) on random
    # clouds, duplicated points and a 68-point face-like ring with interior points.
    rng = np.random.default_rng(3)
    clouds = [rng.normal(size=(n, 2)) * [40, 25] + [300, 200] for n in (3, 5, 17, 68)]
    clouds.append(np.repeat(rng.uniform(0, 9, size=(6, 2)), 3, axis=0))
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    ring = np.c_[100 * np.cos(angles), 130 * np.sin(angles)]
    clouds.append(np.vstack([ring, rng.uniform(-50, 50, size=(28, 2))]))
    for cloud in clouds:
        assert convex_hull_area(cloud) == pytest.approx(ConvexHull(cloud).volume, rel=1e-12)
    assert convex_hull_area(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])) == 0.0
