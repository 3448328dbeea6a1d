"""How the engine recognises TPSMM checkpoints, infers their configuration and builds them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from ..motion import SHARED_MODES, ModeSpec
from ..protocol import Family, StateDict
from ..shapes import hourglass_params, indices, scale_from_kernel
from .config import (
    OFFICIAL_CONFIGS,
    AvdConfig,
    DenseMotionConfig,
    InpaintingConfig,
    TpsmmConfig,
)
from .model import AVD_MODE, TpsmmModel

AVD_PART = "avd_network"


def infer_config(parts: Mapping[str, StateDict]) -> TpsmmConfig:
    """Derive a :class:`TpsmmConfig` from the state dicts' tensor shapes.

    Not recoverable from tensors: the frame size (256; TED's 384 comes from its file name
    or ``--config ted-384``), ``bg`` (training only) and the keypoint variance (0.01).
    ``KeyError`` names a missing tensor.
    """
    kp, dense, inpainting = (
        parts["kp_detector"],
        parts["dense_motion_network"],
        parts["inpainting_network"],
    )
    dm_be, dm_blocks, dm_mf = hourglass_params(dense, "hourglass.")
    downs = indices(inpainting, "down_blocks.")
    avd = AvdConfig()
    if AVD_PART in parts:
        avd = AvdConfig(
            id_bottle_size=int(parts[AVD_PART]["id_encoder.9.weight"].shape[0]),
            pose_bottle_size=int(parts[AVD_PART]["pose_encoder.9.weight"].shape[0]),
        )
    return TpsmmConfig(
        num_tps=int(kp["fg_encoder.fc.weight"].shape[0]) // 10,
        num_channels=int(inpainting["first.conv.weight"].shape[1]),
        multi_mask="up.0.conv.weight" in dense,
        generator=InpaintingConfig(
            block_expansion=int(inpainting["first.conv.weight"].shape[0]),
            max_features=max(
                int(inpainting[f"down_blocks.{i}.conv.weight"].shape[0]) for i in downs
            ),
            num_down_blocks=len(downs),
        ),
        dense_motion=DenseMotionConfig(
            block_expansion=dm_be,
            max_features=dm_mf,
            num_blocks=dm_blocks,
            scale_factor=scale_from_kernel(dense, "down.weight"),
        ),
        avd=avd,
    )


def _same_networks(a: TpsmmConfig, b: TpsmmConfig) -> bool:
    # The released configs differ only in what the tensors cannot show: the frame size
    # (TED) and the training-only background predictor (mgif).
    return replace(a, bg=True, frame_shape=(0, 0)) == replace(b, bg=True, frame_shape=(0, 0))


def matching_official_config(config: TpsmmConfig, file_name: str = "") -> str | None:
    """The official config of a released file name (``ted.pth.tar`` → ted-384) when its
    networks are ``config``'s; else the first one equal to ``config`` up to ``bg``."""
    for name, (official, released, _) in OFFICIAL_CONFIGS.items():
        if file_name == released and _same_networks(official, config):
            return name
    for name, (official, _, _) in OFFICIAL_CONFIGS.items():
        if replace(official, bg=config.bg) == config:
            return name
    return None


def build(config: TpsmmConfig, optional_parts: Collection[str] = ()) -> TpsmmModel:
    """The networks of ``config``; the AVD network only when the file has one."""
    return TpsmmModel(config, with_avd=AVD_PART in optional_parts)


FAMILY = Family(
    name="tpsmm",
    title="TPSMM",
    required_parts=("kp_detector", "dense_motion_network", "inpainting_network"),
    optional_parts=(AVD_PART,),
    official_configs=OFFICIAL_CONFIGS,
    config_from_dict=TpsmmConfig.from_dict,
    infer_config=infer_config,
    build=build,
    matching_official_config=matching_official_config,
    default_align_corners=True,
    modes=(
        *SHARED_MODES,
        ModeSpec(AVD_MODE, "TPSMM's learned re-posing (checkpoints with an AVD network)"),
    ),
)
