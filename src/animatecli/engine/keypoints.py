"""The keypoints every family exposes, with the local Jacobians some families add."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Keypoints:
    """Keypoints of a batch of frames.

    ``value``: ``B×K×2`` normalised (x, y) in about ``[-1, 1]``, the points every family
    exposes (alignment and diagnostics use them); ``jacobian``: ``B×K×2×2`` local affine
    transforms for families that estimate them (FOMM), else None.
    """

    value: torch.Tensor
    jacobian: torch.Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> Keypoints:
        jac = None if self.jacobian is None else self.jacobian.to(*args, **kwargs)
        return Keypoints(self.value.to(*args, **kwargs), jac)

    def __getitem__(self, index: int | slice) -> Keypoints:
        """Select batch rows (an int keeps the batch axis)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        jac = None if self.jacobian is None else self.jacobian[index]
        return Keypoints(self.value[index], jac)
