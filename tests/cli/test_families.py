"""A TPSMM checkpoint in the official layout goes through ``animate``, ``animate batch``,
``animate eval`` and ``animate doctor`` with no family named on the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from testutil import Samples
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.engine import (
    Animator,
    OneEuroSettings,
    frames_to_tensor,
    official_container,
    tensor_to_frames,
)
from animatecli.engine.tpsmm import TpsmmConfig, TpsmmModel
from animatecli.engine.tpsmm.config import DenseMotionConfig, InpaintingConfig
from animatecli.media import VideoReader, fit_image, probe_video

runner = CliRunner()
FAST = ["--crop-source", "off", "--preset", "ultrafast"]

# Narrow networks (the ResNet-18 detector has a fixed width): the file is still the
# official container, and loading infers the default 256×256 frame.
TINY = TpsmmConfig(
    num_tps=3,
    generator=InpaintingConfig(block_expansion=4, max_features=16),
    dense_motion=DenseMotionConfig(block_expansion=4, max_features=16, num_blocks=3),
)


@pytest.fixture(scope="module")
def tpsmm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights saved as the official training script does (with the AVD network,
    a background predictor entry, optimiser state and epoch)."""
    torch.manual_seed(0)
    model = TpsmmModel(TINY, with_avd=True).eval()
    container = official_container(model)
    container["bg_predictor"] = {"bg_encoder.fc.bias": torch.zeros(6)}
    container["optimizer_avd"] = {"state": {}, "param_groups": [{"lr": 2e-4}]}
    container["epoch"] = 100
    path = tmp_path_factory.mktemp("tpsmm") / "tiny-tpsmm.pth.tar"
    torch.save(container, path)
    return path


@pytest.fixture(scope="module")
def face_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "face.png"
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8), (7, 7), 2)
    cv2.circle(image, (48, 48), 28, (240, 200, 170), -1)
    cv2.imwrite(str(path), image)
    return path


@pytest.mark.parametrize("mode", ["relative", "avd"])
def test_animate_with_a_tpsmm_file(
    samples: Samples, face_png: Path, tpsmm_file: Path, tmp_path: Path, mode: str
) -> None:
    outdir = tmp_path / "frames"
    args = [face_png, samples.v25, "-o", f"{outdir}/", "--json", "--align", "first", *FAST,
            "--watermark", "off"]  # fmt: skip
    result = runner.invoke(app, [*map(str, args), "--mode", mode, "--checkpoint", str(tpsmm_file)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checkpoint"]["family"] == "tpsmm"
    assert report["checkpoint"]["config_source"] == "inferred"
    assert report["checkpoint"]["modes"] == ["relative", "absolute", "avd"]
    assert report["frames"] == probe_video(samples.v25).frame_count_estimate
    written = sorted(outdir.glob("*.png"))
    assert len(written) == report["frames"]
    # The CLI's frames are the engine's (streamed, batched, encoded losslessly).
    model = TpsmmModel(TINY, with_avd=True).eval()
    for part, state in torch.load(tpsmm_file, weights_only=True).items():
        if part in model.checkpoint_parts():
            getattr(model, part).load_state_dict(state)
    source = fit_image(cv2.cvtColor(cv2.imread(str(face_png)), cv2.COLOR_BGR2RGB), (256, 256))
    with VideoReader(samples.v25, stop=3) as reader:
        frames = [fit_image(f, (256, 256)) for f in reader]
    session = Animator(model).session(
        frames_to_tensor(source)[0], mode=mode, smoothing=OneEuroSettings(), fps=25.0
    )
    expected = tensor_to_frames(session.animate_batch(frames_to_tensor(np.stack(frames))))
    for path, want in zip(written[:3], expected, strict=True):
        got = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_best_frame_alignment_falls_back_on_the_model_points(
    samples: Samples, face_png: Path, tpsmm_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    args = [face_png, samples.v25, "-o", out, "--json", "--detector", "opencv", *FAST]
    result = runner.invoke(app, [*map(str, args), "--checkpoint", str(tpsmm_file)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["alignment_method"] == "best frame by model keypoints"
    assert 0 <= report["alignment_frame"] < report["frames"]


def test_batch_with_a_tpsmm_file(
    samples: Samples, face_png: Path, tpsmm_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(face_png, folder / "face.png")
    shutil.copy(samples.v30_audio, folder / "nod.mov")
    result = runner.invoke(
        app,
        ["batch", str(folder), "--json", "--align", "first", *FAST,
         "--checkpoint", str(tpsmm_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary == {"ok": 1, "skipped": 0, "failed": 0}
    assert probe_video(folder / "animated" / "face__nod.mp4").frame_count_estimate == 30


def test_eval_with_a_tpsmm_file(tpsmm_file: Path) -> None:
    result = runner.invoke(
        app, ["eval", "--checkpoint", str(tpsmm_file), "--videos", "1", "--frames", "3", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["frames"] == 3
    assert 0 < scores["l1"] < 1 and 0 < scores["copy_source_l1"] < 1
    assert scores["akd_pixels"] >= 0


def test_doctor_shows_family_config_and_modes(tpsmm_file: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--checkpoint", str(tpsmm_file)])
    assert result.exit_code == 0, result.stderr
    checkpoint = json.loads(result.stdout)["checkpoint"]
    assert (checkpoint["family"], checkpoint["kind"]) == ("tpsmm", "official")
    assert checkpoint["config"]["model_params"]["common_params"]["num_tps"] == 3
    table = runner.invoke(app, ["doctor", "--checkpoint", str(tpsmm_file)])
    assert "TPSMM (official)" in table.stdout
    assert "relative, absolute, avd" in table.stdout


def test_batch_refuses_avd_for_a_model_without_it_before_any_pair(
    samples: Samples, face_png: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(face_png, folder / "face.png")
    shutil.copy(samples.v25, folder / "talk.mp4")
    result = runner.invoke(
        app, ["batch", str(folder), "--mode", "avd", "--checkpoint", str(tiny_checkpoint)]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--mode avd is not available for this FOMM model" in lines[0]
    assert not any((folder / "animated").glob("*.mp4"))
