"""Read the Real-ESRGAN models that ship as ncnn ``.param``/``.bin`` pairs
(``esrgan-spec.md`` §2–3) into :mod:`.nets` networks, strictly.

The ``.param`` graph is checked against the network it must describe (layer kinds,
channel counts, weight counts, fused activations, residual coefficients, resize modes and
factors), and the ``.bin`` must be consumed to its last byte. Anything else is a
:class:`~animatecli.errors.CheckpointError` with one line naming the file.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ...errors import CheckpointError
from .nets import UpscaleNet, UpscalerConfig, build_net

PARAM_MAGIC = "7767517"
FP16_TAG = 0x01306B47  # a convolution's weights follow as float16
KNOWN_LAYERS = frozenset(
    {"Input", "Split", "Convolution", "PReLU", "PixelShuffle", "Interp", "BinaryOp", "Eltwise",
     "Concat"}
)  # fmt: skip
_ARRAY_KEY_BASE = -23300  # key -23300-k holds the array value of parameter k
INTERP_NEAREST, INTERP_BICUBIC = 1, 3
ACTIVATION_LEAKY = 2


@dataclass(frozen=True)
class NcnnLayer:
    """One line of a ``.param`` file: scalar keys as strings, array keys as float lists."""

    kind: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    values: dict[int, str] = field(default_factory=dict)
    arrays: dict[int, tuple[float, ...]] = field(default_factory=dict)

    def int_value(self, key: int, default: int) -> int:
        return int(self.values.get(key, default))

    def float_value(self, key: int, default: float) -> float:
        return float(self.values.get(key, default))


def parse_param(text: str, source: str) -> list[NcnnLayer]:
    """The layers of a ``.param`` text, in file order (structure checked, not meaning)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [PARAM_MAGIC]:
        raise CheckpointError(f"{source}: not an ncnn .param file (no magic {PARAM_MAGIC})")
    try:
        layer_count, _blob_count = (int(v) for v in lines[1])
    except (IndexError, ValueError):
        raise CheckpointError(f"{source}: bad layer/blob count line") from None
    if len(lines) - 2 != layer_count:
        raise CheckpointError(
            f"{source}: header says {layer_count} layers, the file has {len(lines) - 2}"
        )
    layers = []
    for number, words in enumerate(lines[2:], start=3):
        try:
            kind, name, n_in, n_out = words[0], words[1], int(words[2]), int(words[3])
            inputs = tuple(words[4 : 4 + n_in])
            outputs = tuple(words[4 + n_in : 4 + n_in + n_out])
            if len(inputs) != n_in or len(outputs) != n_out:
                raise ValueError
            values: dict[int, str] = {}
            arrays: dict[int, tuple[float, ...]] = {}
            for item in words[4 + n_in + n_out :]:
                key_text, value = item.split("=", 1)
                key = int(key_text)
                if key <= _ARRAY_KEY_BASE:
                    count, *items = value.split(",")
                    if int(count) != len(items):
                        raise ValueError
                    arrays[_ARRAY_KEY_BASE - key] = tuple(float(v) for v in items)
                else:
                    values[key] = value
        except (IndexError, ValueError):
            raise CheckpointError(f"{source}: line {number} is not a valid ncnn layer") from None
        if kind not in KNOWN_LAYERS:
            raise CheckpointError(f"{source}: unsupported layer type {kind} ({name})")
        layers.append(NcnnLayer(kind, name, inputs, outputs, values, arrays))
    return layers


def _fail(source: str, message: str) -> CheckpointError:
    return CheckpointError(f"{source}: {message}")


def _conv_shape(layer: NcnnLayer, in_channels: int, source: str) -> int:
    """Output channels of a convolution layer, after checking it is a plain 3×3 one."""
    out = layer.int_value(0, 0)
    plain = (
        layer.int_value(1, 0) == 3
        and layer.int_value(2, 1) == 1
        and layer.int_value(3, 1) == 1
        and layer.int_value(4, 0) == 1
        and layer.int_value(5, 0) == 1
    )
    if not plain:
        raise _fail(source, f"{layer.name} is not a 3×3, stride 1, padding 1 conv with bias")
    if layer.int_value(6, -1) != out * in_channels * 9:
        raise _fail(
            source,
            f"{layer.name}: weight count {layer.values.get(6)} ≠ {out}×{in_channels}×3×3",
        )
    return out


def _activation(layer: NcnnLayer) -> float | None:
    """The fused leaky-ReLU slope of a convolution, or None for none."""
    kind = layer.int_value(9, 0)
    if kind == 0:
        return None
    if kind != ACTIVATION_LEAKY:
        return math.nan  # an activation our networks do not have
    return layer.arrays.get(10, (0.0,))[0]


def _infer_config(layers: list[NcnnLayer], source: str) -> UpscalerConfig:
    convs = [layer for layer in layers if layer.kind == "Convolution"]
    prelus = [layer for layer in layers if layer.kind == "PReLU"]
    interps = [layer for layer in layers if layer.kind == "Interp"]
    if not convs:
        raise _fail(source, "no convolution layers")
    features = convs[0].int_value(0, 0)
    if prelus:
        # Compact: conv, PReLU, …, conv, pixel shuffle; nearest-upsampled input added;
        # optionally a bicubic resize of the sum.
        shuffles = [layer for layer in layers if layer.kind == "PixelShuffle"]
        if len(shuffles) != 1 or len(prelus) != len(convs) - 1:
            raise _fail(source, "not a compact (SRVGG) graph: pixel shuffle / PReLU count")
        net_scale = shuffles[0].int_value(0, 0)
        nearest = [i for i in interps if i.int_value(0, 0) == INTERP_NEAREST]
        bicubic = [i for i in interps if i.int_value(0, 0) == INTERP_BICUBIC]
        if len(nearest) != 1 or len(bicubic) + 1 != len(interps) or len(bicubic) > 1:
            raise _fail(source, "not a compact (SRVGG) graph: unexpected resize layers")
        if nearest[0].float_value(1, 0) != net_scale or nearest[0].float_value(2, 0) != net_scale:
            raise _fail(source, "the skip connection's upsampling ≠ the pixel shuffle factor")
        output_scale = net_scale
        if bicubic:
            factor = bicubic[0].float_value(1, 0)
            if factor != bicubic[0].float_value(2, 0) or not float(net_scale * factor).is_integer():
                raise _fail(source, f"bicubic tail factor {factor} gives no whole scale")
            output_scale = round(net_scale * factor)
        try:
            return UpscalerConfig("compact", features, len(convs) - 2, net_scale, output_scale)
        except ValueError as exc:
            raise _fail(source, str(exc)) from None
    # RRDB: conv_first, 15 per block, conv_body, up1, up2, hr, last.
    blocks, rest = divmod(len(convs) - 6, 15)
    if rest or blocks < 1:
        raise _fail(source, f"{len(convs)} convolutions fit neither known network")
    if len(interps) != 2 or any(
        i.int_value(0, 0) != INTERP_NEAREST or i.float_value(1, 0) != 2 or i.float_value(2, 0) != 2
        for i in interps
    ):
        raise _fail(source, "not an RRDB graph: expected two nearest ×2 upsamplings")
    for layer in layers:
        if layer.kind == "Eltwise" and (
            layer.int_value(0, -1) != 1 or layer.arrays.get(1) != (0.2, 1.0)
        ):
            raise _fail(source, f"{layer.name}: residual scaling is not 0.2·x + y")
    growth = convs[1].int_value(0, 0)
    return UpscalerConfig("rrdb", features, blocks, 4, 4, growth=growth)


def _weighted_modules(net: nn.Module) -> list[nn.Module]:
    """The convolutions and PReLUs in graph order (registration order matches it)."""
    return [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.PReLU)]


def _expected_activations(net: UpscaleNet) -> list[float | None]:
    """The fused activation each convolution must carry in the ncnn graph."""
    if net.config.kind == "compact":
        return [None] * sum(isinstance(m, nn.Conv2d) for m in net.modules())
    leaky = 0.2
    per_block = [leaky, leaky, leaky, leaky, None] * 3
    return [None, *per_block * net.config.convs, None, leaky, leaky, leaky, None]


def load_ncnn(param_path: str | os.PathLike[str], bin_path: str | os.PathLike[str]) -> UpscaleNet:
    """Build the network a ``.param``/``.bin`` pair describes and fill it (float32, eval).

    Raises :class:`CheckpointError` for a missing/unreadable file, a graph that is not one
    of the two networks, or weights that do not fill it exactly.
    """
    param_path, bin_path = Path(param_path), Path(bin_path)
    for path in (param_path, bin_path):
        if not path.is_file():
            raise CheckpointError(f"ncnn model file not found: {path}")
    try:
        text = param_path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {param_path}: {exc}") from None
    layers = parse_param(text, str(param_path))
    config = _infer_config(layers, str(param_path))
    net = build_net(config)
    weighted = [layer for layer in layers if layer.kind in ("Convolution", "PReLU")]
    modules = _weighted_modules(net)
    if len(weighted) != len(modules):
        raise _fail(str(param_path), f"{len(weighted)} weighted layers, the net has {len(modules)}")
    activations = iter(_expected_activations(net))
    try:
        data = bin_path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {bin_path}: {exc}") from None
    offset = 0

    def take(count: int, dtype: torch.dtype, what: str) -> torch.Tensor:
        nonlocal offset
        size = count * (2 if dtype == torch.float16 else 4)
        if offset + size > len(data):
            raise CheckpointError(f"{bin_path}: ends inside {what} (file truncated?)")
        chunk = torch.frombuffer(bytearray(data[offset : offset + size]), dtype=dtype)
        offset += size
        return chunk.float()

    with torch.no_grad():
        for layer, module in zip(weighted, modules, strict=True):
            if isinstance(module, nn.Conv2d):
                if layer.kind != "Convolution":
                    raise _fail(str(param_path), f"{layer.name}: expected a convolution")
                out = _conv_shape(layer, module.in_channels, str(param_path))
                if out != module.out_channels:
                    raise _fail(str(param_path), f"{layer.name}: {out} outputs, expected more/less")
                expected = next(activations)
                found = _activation(layer)
                if found != expected:
                    raise _fail(str(param_path), f"{layer.name}: unexpected fused activation")
                if offset + 4 > len(data):
                    raise CheckpointError(f"{bin_path}: ends before {layer.name} (truncated?)")
                (tag,) = struct.unpack_from("<I", data, offset)
                offset += 4
                if tag != FP16_TAG:
                    raise CheckpointError(
                        f"{bin_path}: {layer.name} weights have storage tag {tag:#010x}, "
                        f"expected float16 ({FP16_TAG:#010x})"
                    )
                module.weight.copy_(take(module.weight.numel(), torch.float16, layer.name).view_as(
                    module.weight
                ))  # fmt: skip
                assert module.bias is not None
                module.bias.copy_(take(module.out_channels, torch.float32, layer.name))
            else:
                if layer.kind != "PReLU" or layer.int_value(0, 0) != module.num_parameters:
                    raise _fail(
                        str(param_path),
                        f"{layer.name}: expected a PReLU of {module.num_parameters}",
                    )
                module.weight.copy_(take(module.num_parameters, torch.float32, layer.name))
    if offset != len(data):
        raise CheckpointError(
            f"{bin_path}: {len(data) - offset} bytes left after the last layer (not this graph)"
        )
    return net
