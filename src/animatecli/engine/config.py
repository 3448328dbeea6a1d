"""What every family's model configuration shares: the JSON form (the official YAML's
``model_params`` plus the frame shape) and the dense motion network's parameters, which
both families' official configs spell alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self


@dataclass(frozen=True)
class DenseMotionConfig:
    """The hourglass that predicts dense motion from keypoint heatmaps (both families)."""

    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    kp_variance: float = 0.01


def known_fields(kind: type, values: dict[str, Any] | None) -> dict[str, Any]:
    """The entries of ``values`` that name a field of the dataclass ``kind`` (official
    YAMLs carry training-only keys we drop)."""
    names = set(kind.__dataclass_fields__)
    return {k: v for k, v in (values or {}).items() if k in names}


class ModelParamsConfig:
    """Base of the families' frozen config dataclasses: they give ``frame_shape``,
    :meth:`to_model_params` and :meth:`from_model_params`; the JSON form is shared."""

    frame_shape: tuple[int, int]

    def to_model_params(self) -> dict[str, Any]:
        """The official YAML ``model_params`` mapping (JSON-able)."""
        raise NotImplementedError

    @classmethod
    def from_model_params(
        cls, params: dict[str, Any], frame_shape: tuple[int, int] | list[int] = (256, 256)
    ) -> Self:
        """Build from an official-style ``model_params`` mapping (unknown keys ignored)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``model_params`` plus ``frame_shape`` (as in the manifests)."""
        return {"model_params": self.to_model_params(), "frame_shape": list(self.frame_shape)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; also accepts a bare ``model_params`` mapping. A
        missing or null ``frame_shape`` (the official YAML's) is 256×256, or the
        manifests' ``image_size_used_at_inference``."""
        if "model_params" not in data:
            return cls.from_model_params(data)
        shape = data.get("frame_shape")
        if shape is None:
            side = int(data.get("image_size_used_at_inference", 256))
            shape = (side, side)
        return cls.from_model_params(data["model_params"], shape[:2])
