"""Model configuration: the FOMM ``model_params`` as typed dataclasses, and the eight
official configurations by name.

The nesting mirrors the official YAML so a config converts losslessly both ways:
``common_params`` (shared), ``kp_detector_params`` and ``generator_params`` (which holds
``dense_motion_params``). Training-only parts (discriminator) are dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..config import DenseMotionConfig, ModelParamsConfig, known_fields
from ..protocol import OfficialConfig


@dataclass(frozen=True)
class KeypointDetectorConfig:
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    temperature: float = 0.1
    scale_factor: float = 0.25
    single_jacobian_map: bool = False
    pad: int = 0


@dataclass(frozen=True)
class GeneratorConfig:
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    estimate_occlusion_map: bool = True
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)


@dataclass(frozen=True)
class ModelConfig(ModelParamsConfig):
    """Everything needed to build the keypoint detector and the generator."""

    num_kp: int = 10
    num_channels: int = 3
    estimate_jacobian: bool = True
    kp_detector: KeypointDetectorConfig = field(default_factory=KeypointDetectorConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    # (height, width) the model was trained on; inputs are resized to it.
    frame_shape: tuple[int, int] = (256, 256)

    def to_model_params(self) -> dict[str, Any]:
        """The official YAML ``model_params`` mapping (JSON-able)."""
        gen = asdict(self.generator)
        gen["dense_motion_params"] = gen.pop("dense_motion")
        return {
            "common_params": {
                "num_kp": self.num_kp,
                "num_channels": self.num_channels,
                "estimate_jacobian": self.estimate_jacobian,
            },
            "kp_detector_params": asdict(self.kp_detector),
            "generator_params": gen,
        }

    @classmethod
    def from_model_params(
        cls, params: dict[str, Any], frame_shape: tuple[int, int] | list[int] = (256, 256)
    ) -> ModelConfig:
        """Build from an official-style ``model_params`` mapping (unknown keys ignored)."""
        common = params.get("common_params", {})
        kp = known_fields(KeypointDetectorConfig, params.get("kp_detector_params", {}))
        gen_params = dict(params.get("generator_params", {}))
        dense = known_fields(DenseMotionConfig, gen_params.pop("dense_motion_params", None) or {})
        gen = known_fields(GeneratorConfig, gen_params)
        return cls(
            num_kp=int(common.get("num_kp", 10)),
            num_channels=int(common.get("num_channels", 3)),
            estimate_jacobian=bool(common.get("estimate_jacobian", True)),
            kp_detector=KeypointDetectorConfig(**kp),
            generator=GeneratorConfig(**gen, dense_motion=DenseMotionConfig(**dense)),
            frame_shape=(int(frame_shape[0]), int(frame_shape[1])),
        )


_OFFICIAL_BASE = ModelConfig()

# The eight released configurations; they differ only in mgif's single Jacobian map.
# Faces: vox (talking heads) and nemo (smiles); the rest are trained on whole figures or
# objects (tai chi, GIF animals, robot arms, fashion models).
OFFICIAL_CONFIGS: dict[str, OfficialConfig] = {
    "vox-256": OfficialConfig(_OFFICIAL_BASE, "vox-cpk.pth.tar", "face"),
    "vox-adv-256": OfficialConfig(_OFFICIAL_BASE, "vox-adv-cpk.pth.tar", "face"),
    "taichi-256": OfficialConfig(_OFFICIAL_BASE, "taichi-cpk.pth.tar", "body"),
    "taichi-adv-256": OfficialConfig(_OFFICIAL_BASE, "taichi-adv-cpk.pth.tar", "body"),
    "nemo-256": OfficialConfig(_OFFICIAL_BASE, "nemo-cpk.pth.tar", "face"),
    "mgif-256": OfficialConfig(
        replace(_OFFICIAL_BASE, kp_detector=KeypointDetectorConfig(single_jacobian_map=True)),
        "mgif-cpk.pth.tar",
        "body",
    ),
    "bair-256": OfficialConfig(_OFFICIAL_BASE, "bair-cpk.pth.tar", "body"),
    "fashion-256": OfficialConfig(_OFFICIAL_BASE, "fashion.pth.tar", "body"),
}


def official_config(name: str) -> ModelConfig:
    """Look up an official configuration by name (``vox-256`` …); KeyError if unknown."""
    return OFFICIAL_CONFIGS[name].config
