"""Strict loading: the wheel's ncnn files, official-layout .pth files made from our own
random networks, and files that must be refused with one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from animatecli.engine.upscale import (
    CompactNet,
    RRDBNet,
    UpscalerConfig,
    build_net,
    load_ncnn,
    load_pth,
)
from animatecli.errors import CheckpointError

from .upscale_testutil import model_files, ncnn_net


@pytest.mark.parametrize(
    ("stem", "kind", "convs", "output_scale"),
    [
        ("realesr-animevideov3-x2", "compact", 16, 2),
        ("realesr-animevideov3-x3", "compact", 16, 3),
        ("realesr-animevideov3-x4", "compact", 16, 4),
        ("realesrgan-x4plus-anime", "rrdb", 6, 4),
        ("realesrgan-x4plus", "rrdb", 23, 4),
    ],
)
def test_the_wheel_models_are_read_as_the_spec_describes(
    stem: str, kind: str, convs: int, output_scale: int
) -> None:
    config = ncnn_net(stem).config
    assert (config.kind, config.convs, config.output_scale) == (kind, convs, output_scale)
    assert (config.features, config.net_scale, config.unshuffle) == (64, 4, 1)


def test_the_three_compact_files_hold_the_same_weights() -> None:
    states = [ncnn_net(f"realesr-animevideov3-x{s}").state_dict() for s in (2, 3, 4)]
    for key, tensor in states[0].items():
        assert torch.equal(tensor, states[1][key]) and torch.equal(tensor, states[2][key])


@pytest.fixture
def compact_copy(tmp_path: Path) -> tuple[Path, Path]:
    param, weights = model_files("realesr-animevideov3-x4")
    return (
        Path(shutil.copy(param, tmp_path / param.name)),
        Path(shutil.copy(weights, tmp_path / weights.name)),
    )


def test_a_truncated_bin_is_refused(compact_copy: tuple[Path, Path]) -> None:
    param, weights = compact_copy
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"ends inside .* truncated"):
        load_ncnn(param, weights)


def test_trailing_bytes_are_refused(compact_copy: tuple[Path, Path]) -> None:
    param, weights = compact_copy
    weights.write_bytes(weights.read_bytes() + b"\0" * 8)
    with pytest.raises(CheckpointError, match="8 bytes left"):
        load_ncnn(param, weights)


def test_weights_of_another_graph_are_refused() -> None:
    param, _ = model_files("realesr-animevideov3-x4")
    _, other = model_files("realesrgan-x4plus-anime")
    with pytest.raises(CheckpointError, match=r"bytes left|ends inside|storage tag"):
        load_ncnn(param, other)


def test_a_wrong_storage_tag_is_refused(compact_copy: tuple[Path, Path]) -> None:
    param, weights = compact_copy
    data = bytearray(weights.read_bytes())
    data[0:4] = b"\0\0\0\0"
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="storage tag 0x00000000"):
        load_ncnn(param, weights)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("7767517", "1234", 1), "not an ncnn .param"),
        (
            lambda t: t.replace("PReLU                    PRelu_1 ", "Sigmoid PRelu_1 "),
            "unsupported layer",
        ),
        (lambda t: t.replace("6=36864", "6=36000", 1), "weight count"),
        (lambda t: t.replace("0=48 1=3", "0=12 1=3"), "pixel shuffle|outputs|weight count"),
        (lambda t: "\n".join(t.splitlines()[:-1]), "header says"),
    ],
)
def test_a_damaged_param_is_refused_in_one_line(
    compact_copy: tuple[Path, Path], edit: object, message: str
) -> None:
    param, weights = compact_copy
    assert callable(edit)
    param.write_text(edit(param.read_text()))
    with pytest.raises(CheckpointError, match=message) as caught:
        load_ncnn(param, weights)
    assert "\n" not in str(caught.value)


def test_missing_ncnn_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_ncnn(tmp_path / "a.param", tmp_path / "a.bin")


# Official .pth layouts, made from our own random networks.
SMALL_CONFIGS = [
    UpscalerConfig("compact", 16, 3, 4, 4),
    UpscalerConfig("compact", 8, 2, 2, 2),
    UpscalerConfig("rrdb", 16, 2, 4, 4, growth=8),
    UpscalerConfig("rrdb", 16, 1, 4, 2, growth=8, unshuffle=2),
    UpscalerConfig("rrdb", 8, 1, 4, 1, growth=4, unshuffle=4),
]


def _random_net(config: UpscalerConfig) -> CompactNet | RRDBNet:
    torch.manual_seed(0)
    net = build_net(config)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.05)
    return net


@pytest.mark.parametrize("entry", ["params_ema", "params", None])
@pytest.mark.parametrize(
    "config", SMALL_CONFIGS, ids=lambda c: f"{c.kind}-{c.convs}-u{c.unshuffle}"
)
def test_an_official_layout_pth_is_read_back_exactly(
    tmp_path: Path, config: UpscalerConfig, entry: str | None
) -> None:
    net = _random_net(config)
    state = net.state_dict()
    path = tmp_path / "model.pth"
    torch.save(state if entry is None else {entry: state}, path)
    loaded = load_pth(path)
    assert loaded.config == config
    frames = torch.rand(2, 3, 12, 16)
    with torch.no_grad():
        assert torch.equal(loaded(frames), net(frames))


def test_the_official_key_names_are_used() -> None:
    compact = build_net(UpscalerConfig("compact", 64, 16, 4, 4)).state_dict()
    assert {"body.0.weight", "body.1.weight", "body.34.weight", "body.34.bias"} <= set(compact)
    rrdb = build_net(UpscalerConfig("rrdb", 64, 2, 4, 4)).state_dict()
    for key in (
        "conv_first",
        "body.1.rdb3.conv5",
        "conv_body",
        "conv_up1",
        "conv_up2",
        "conv_hr",
        "conv_last",
    ):
        assert f"{key}.weight" in rrdb and f"{key}.bias" in rrdb


def _saved(tmp_path: Path, state: dict[str, object]) -> Path:
    path = tmp_path / "bad.pth"
    torch.save({"params_ema": state}, path)
    return path


def test_an_unconsumed_tensor_is_refused(tmp_path: Path) -> None:
    state = dict(_random_net(SMALL_CONFIGS[2]).state_dict())
    state["extra.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match=r"1 unexpected \(first extra.weight\)"):
        load_pth(_saved(tmp_path, state))


def test_a_missing_tensor_is_refused(tmp_path: Path) -> None:
    state = dict(_random_net(SMALL_CONFIGS[2]).state_dict())
    del state["conv_hr.bias"]
    with pytest.raises(CheckpointError, match=r"missing \(first conv_hr.bias\)"):
        load_pth(_saved(tmp_path, state))


def test_a_wrong_shape_is_refused(tmp_path: Path) -> None:
    state = dict(_random_net(SMALL_CONFIGS[0]).state_dict())
    state["body.2.weight"] = torch.zeros(16)
    with pytest.raises(CheckpointError, match=r"body.2.weight has shape \(16,\)"):
        load_pth(_saved(tmp_path, state))


def test_a_compact_net_without_prelu_is_refused(tmp_path: Path) -> None:
    state = {
        k: v
        for k, v in _random_net(SMALL_CONFIGS[0]).state_dict().items()
        if not k.startswith(("body.1.", "body.3.", "body.5.", "body.7."))
    }
    with pytest.raises(CheckpointError, match="PReLU"):
        load_pth(_saved(tmp_path, state))


def test_other_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot load"):
        load_pth(text)
    other = tmp_path / "other.pth"
    torch.save({"kp_detector": {"x": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="kp_detector is not a tensor"):
        load_pth(other)
    torch.save({"params": {"x.weight": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="neither an RRDBNet nor a compact"):
        load_pth(other)
    with pytest.raises(CheckpointError, match="not found"):
        load_pth(tmp_path / "absent.pth")
