"""TPSMM model configuration: the official ``model_params`` as typed dataclasses, and the
four official configurations by name.

The nesting mirrors the official YAML: ``common_params``, ``generator_params`` (the
inpainting network), ``dense_motion_params`` (a sibling, unlike FOMM) and
``avd_network_params``. ``frame_shape`` is the side the model works at (384 for TED).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..config import DenseMotionConfig, ModelParamsConfig, known_fields
from ..protocol import OfficialConfig


@dataclass(frozen=True)
class InpaintingConfig:
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 3


@dataclass(frozen=True)
class AvdConfig:
    id_bottle_size: int = 128
    pose_bottle_size: int = 128


@dataclass(frozen=True)
class TpsmmConfig(ModelParamsConfig):
    """Everything needed to build the TPSMM networks.

    ``bg`` records whether the config trains a background predictor (not used by
    animation); ``multi_mask``: four occlusion maps (every official config) or one.
    """

    num_tps: int = 10
    num_channels: int = 3
    bg: bool = True
    multi_mask: bool = True
    generator: InpaintingConfig = field(default_factory=InpaintingConfig)
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)
    avd: AvdConfig = field(default_factory=AvdConfig)
    frame_shape: tuple[int, int] = (256, 256)

    @property
    def num_kp(self) -> int:
        """Keypoints: five control points per thin-plate spline."""
        return 5 * self.num_tps

    def to_model_params(self) -> dict[str, Any]:
        """The official YAML ``model_params`` mapping (JSON-able)."""
        return {
            "common_params": {
                "num_tps": self.num_tps,
                "num_channels": self.num_channels,
                "bg": self.bg,
                "multi_mask": self.multi_mask,
            },
            "generator_params": asdict(self.generator),
            "dense_motion_params": asdict(self.dense_motion),
            "avd_network_params": asdict(self.avd),
        }

    @classmethod
    def from_model_params(
        cls, params: dict[str, Any], frame_shape: tuple[int, int] | list[int] = (256, 256)
    ) -> TpsmmConfig:
        """Build from an official-style ``model_params`` mapping (unknown keys ignored)."""
        common = params.get("common_params", {})
        return cls(
            num_tps=int(common.get("num_tps", 10)),
            num_channels=int(common.get("num_channels", 3)),
            bg=bool(common.get("bg", False)),
            multi_mask=bool(common.get("multi_mask", True)),
            generator=InpaintingConfig(
                **known_fields(InpaintingConfig, params.get("generator_params"))
            ),
            dense_motion=DenseMotionConfig(
                **known_fields(DenseMotionConfig, params.get("dense_motion_params"))
            ),
            avd=AvdConfig(**known_fields(AvdConfig, params.get("avd_network_params"))),
            frame_shape=(int(frame_shape[0]), int(frame_shape[1])),
        )


_VOX = TpsmmConfig()

# The four released configurations: the same networks; TED works at 384×384 and mgif
# trains no background predictor. Only vox is trained on faces (TED: upper bodies).
OFFICIAL_CONFIGS: dict[str, OfficialConfig] = {
    "vox-256": OfficialConfig(_VOX, "vox.pth.tar", "face"),
    "taichi-256": OfficialConfig(_VOX, "taichi.pth.tar", "body"),
    "ted-384": OfficialConfig(replace(_VOX, frame_shape=(384, 384)), "ted.pth.tar", "body"),
    "mgif-256": OfficialConfig(replace(_VOX, bg=False), "mgif.pth.tar", "body"),
}
