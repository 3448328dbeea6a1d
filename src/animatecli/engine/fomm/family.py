"""How the engine recognises FOMM checkpoints, infers their configuration and builds them."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from ..building import uninitialised
from ..motion import SHARED_MODES
from ..protocol import Family, StateDict
from ..shapes import hourglass_params, indices, scale_from_kernel, shapes
from .config import (
    OFFICIAL_CONFIGS,
    DenseMotionConfig,
    GeneratorConfig,
    KeypointDetectorConfig,
    ModelConfig,
    official_config,
)
from .model import FommModel


def infer_config(parts: Mapping[str, StateDict]) -> ModelConfig:
    """Derive a :class:`ModelConfig` from the two state dicts' tensor shapes.

    Not recoverable from tensors, and taken from the official defaults: the heatmap
    temperature (0.1), the detector padding (0), the keypoint variance (0.01) and the
    frame shape (256×256). ``max_features`` is taken as the widest layer seen, which
    builds the same network as any larger cap. ``KeyError`` names a missing tensor.
    """
    kp_state, gen_state = parts["kp_detector"], parts["generator"]
    kp_be, kp_blocks, kp_mf = hourglass_params(kp_state, "predictor.")
    num_kp = int(kp_state["kp.weight"].shape[0])
    num_channels = int(kp_state["predictor.encoder.down_blocks.0.conv.weight"].shape[1])
    jac = kp_state.get("jacobian.weight")
    single_map = jac is not None and jac.shape[0] == 4 and num_kp != 1
    dm_be, dm_blocks, dm_mf = hourglass_params(gen_state, "dense_motion_network.hourglass.")
    gen_be = int(gen_state["first.conv.weight"].shape[0])
    num_down = len(indices(gen_state, "down_blocks."))
    num_bottleneck = len(indices(gen_state, "bottleneck.r"))
    bottleneck_width = int(gen_state["bottleneck.r0.conv1.weight"].shape[0])
    return ModelConfig(
        num_kp=num_kp,
        num_channels=num_channels,
        estimate_jacobian=jac is not None,
        kp_detector=KeypointDetectorConfig(
            block_expansion=kp_be,
            max_features=kp_mf,
            num_blocks=kp_blocks,
            scale_factor=scale_from_kernel(kp_state, "down.weight"),
            single_jacobian_map=single_map,
        ),
        generator=GeneratorConfig(
            block_expansion=gen_be,
            max_features=max(bottleneck_width, gen_be),
            num_down_blocks=num_down,
            num_bottleneck_blocks=num_bottleneck,
            estimate_occlusion_map="dense_motion_network.occlusion.weight" in gen_state,
            dense_motion=DenseMotionConfig(
                block_expansion=dm_be,
                max_features=dm_mf,
                num_blocks=dm_blocks,
                scale_factor=scale_from_kernel(gen_state, "dense_motion_network.down.weight"),
            ),
        ),
    )


def build_model(config: ModelConfig, *, initialise: bool = True) -> FommModel:
    """Build the networks; ``initialise=False`` leaves the weights unfilled (to load
    into, or to read shapes off: no memory is touched, see :mod:`..building`)."""
    if initialise:
        return FommModel(config)
    with uninitialised():
        return FommModel(config)


@functools.cache
def _official_shapes(name: str) -> dict[str, tuple[int, ...]]:
    return shapes(build_model(official_config(name), initialise=False))


def matching_official_config(config: ModelConfig, file_name: str = "") -> str | None:
    """Name of the official config whose tensor shapes equal ``config``'s.

    Several released files share one shape (vox, taichi, nemo, bair and fashion): the file's
    released name tells them apart (``taichi-cpk.pth.tar`` is taichi-256); under any other
    name the first, vox-256, stands for them all."""
    base = official_config("vox-256")
    if (config.num_kp, config.kp_detector.block_expansion, config.generator.block_expansion) != (
        base.num_kp,
        base.kp_detector.block_expansion,
        base.generator.block_expansion,
    ):
        return None  # cheap rejection: no need to build anything
    built = shapes(build_model(config, initialise=False))
    matches = [
        name
        for name, (official, _, _) in OFFICIAL_CONFIGS.items()
        if official.kp_detector.single_jacobian_map == config.kp_detector.single_jacobian_map
        and _official_shapes(name) == built
    ]
    released = [name for name in matches if OFFICIAL_CONFIGS[name].file_name == file_name]
    return (released or matches or [None])[0]


FAMILY = Family(
    name="fomm",
    title="FOMM",
    required_parts=("kp_detector", "generator"),
    optional_parts=(),
    official_configs=OFFICIAL_CONFIGS,
    config_from_dict=ModelConfig.from_dict,
    infer_config=infer_config,
    build=lambda config, _optional: FommModel(config),
    matching_official_config=matching_official_config,
    # What the official code does on any PyTorch ≥ 1.3, and what the reference numbers use.
    default_align_corners=False,
    modes=SHARED_MODES,
)
