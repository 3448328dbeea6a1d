"""Plane geometry shared by the engine and the face code, in plain Python floats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Point = tuple[float, float]


def convex_hull_area(points: Iterable[Sequence[float]]) -> float:
    """Area of the convex hull of 2-D points (an ``N×2`` array, tensor or list of pairs).

    Andrew's monotone chain, then the shoelace formula, in float64: for the 5–68 points
    of keypoints and face landmarks a few microseconds, where SciPy's Qhull cost 0.2 s
    and 25 MiB to import. Fewer than 3 distinct points, or collinear ones, give 0.0
    (Qhull would raise).
    """
    ordered = sorted({(float(x), float(y)) for x, y in points})
    if len(ordered) < 3:
        return 0.0

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(chain_points: Iterable[Point]) -> list[Point]:
        chain: list[Point] = []
        for point in chain_points:
            # Drop the chain's last point while it does not make a strict left turn.
            while len(chain) >= 2 and cross(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain

    hull = half(ordered)[:-1] + half(reversed(ordered))[:-1]
    if len(hull) < 3:
        return 0.0
    twice_area = sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(hull, hull[1:] + hull[:1], strict=True)
    )
    return abs(twice_area) / 2.0
