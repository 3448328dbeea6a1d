"""The keypoints every family exposes, with the per-keypoint extras some families add.

Shared code (smoothing, graph capture, batching, device moves, motion transfer) maps over
the extras without knowing what they mean; a family that needs more than the mapping
(FOMM's Jacobians under relative motion) says so in its model, see
:attr:`~.protocol.MotionModel.relative_extras`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Keypoints:
    """Keypoints of a batch of frames.

    ``value``: ``B×K×2`` normalised (x, y) in about ``[-1, 1]``, the points every family
    exposes (alignment and diagnostics use them). ``extras``: per-keypoint data a family
    adds, by name, each ``B×K×…`` (FOMM: ``jacobian`` ``B×K×2×2``, local affine
    transforms); empty for families with none.
    """

    value: torch.Tensor
    extras: Mapping[str, torch.Tensor] = field(default_factory=dict)

    def map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> Keypoints:
        """``function`` applied to the value and to every extra alike."""
        return Keypoints(
            function(self.value), {name: function(t) for name, t in self.extras.items()}
        )

    def to(self, *args: Any, **kwargs: Any) -> Keypoints:
        return self.map(lambda tensor: tensor.to(*args, **kwargs))

    def __getitem__(self, index: int | slice) -> Keypoints:
        """Select batch rows (an int keeps the batch axis)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return self.map(lambda tensor: tensor[index])

    @staticmethod
    def cat(rows: list[Keypoints]) -> Keypoints:
        """Keypoints of the same kind stacked along the batch axis."""
        return Keypoints(
            torch.cat([row.value for row in rows]),
            {name: torch.cat([row.extras[name] for row in rows]) for name in rows[0].extras},
        )


# How relative motion carries an extra over: (driving ``B×K×…``, initial and source
# ``1×K×…``) → the generator's ``B×K×…``.
RelativeTransform = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class KeypointExtra:
    """A family's declaration of one extra: its name, its per-keypoint shape (``(2, 2)``
    for a Jacobian, ``()`` for a scalar) and how relative motion transforms it (None:
    the driving frame's extra is used as it is)."""

    name: str
    shape: tuple[int, ...]
    relative: RelativeTransform | None = None
