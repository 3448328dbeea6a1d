"""``--smooth`` through the real CLI: a jittery video of a real face, written and read
back through ffmpeg, animated with smoothing off and on; bad values; batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from faces.faces_testutil import ASTRONAUT_FACE, astronaut
from faces.footage import write_video
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.training.jitter import JitteredVideo, jittered_face_video, pixel_flicker

runner = CliRunner()
FAST = [
    "--crop-source", "off", "--crop-driving", "off", "--align", "first", "--preset", "ultrafast"
]  # fmt: skip


@pytest.fixture(scope="module")
def short_jittery(
    jittery: tuple[Path, Path, JitteredVideo], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The same source with the first 8 frames of the video (for option plumbing)."""
    source, _, video = jittery
    driving = tmp_path_factory.mktemp("short") / "short.mp4"
    return source, write_video(driving, list(video.jittered[:8]), audio=False)


@pytest.fixture(scope="module")
def jittery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, JitteredVideo]:
    """The bundled model's size (128 px): source = first frame, driving = the video."""
    root = tmp_path_factory.mktemp("jitter")
    video = jittered_face_video(astronaut(), ASTRONAUT_FACE, size=128)
    source = root / "face.png"
    cv2.imwrite(str(source), cv2.cvtColor(video.jittered[0], cv2.COLOR_RGB2BGR))
    driving = write_video(root / "jittery.mp4", list(video.jittered), audio=False)
    return source, driving, video


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def read_frames(folder: Path) -> np.ndarray:
    return np.stack(
        [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(folder.glob("*.png"))]
    )


def test_smoothing_steadies_a_jittery_face(
    jittery: tuple[Path, Path, JitteredVideo], tmp_path: Path
) -> None:
    source, driving, video = jittery
    flicker = {}
    for smooth in ("off", "auto"):
        out = tmp_path / smooth
        code, stdout, stderr = run(
            source, driving, "-o", f"{out}/", "--json", "--smooth", smooth, *FAST
        )
        assert code == 0, stderr
        report = json.loads(stdout)
        frames = read_frames(out)
        assert len(frames) == report["frames"] == len(video.jittered)
        flicker[smooth] = pixel_flicker(frames, video.still)
        if smooth == "off":
            assert report["smoothing"] is None
        else:
            assert report["smoothing"]["filter"] == "one-euro"
    assert flicker["auto"] <= 0.75 * flicker["off"], flicker


def test_auto_is_the_default_and_a_strength_smooths_harder(
    short_jittery: tuple[Path, Path], tmp_path: Path
) -> None:
    source, driving = short_jittery
    settings = {}
    for extra in ([], ["--smooth", "2"]):
        out = tmp_path / f"out{len(extra)}.mp4"
        code, stdout, stderr = run(source, driving, "-o", out, "--json", *extra, *FAST)
        assert code == 0, stderr
        settings[len(extra)] = json.loads(stdout)["smoothing"]
    auto, strong = settings[0], settings[2]
    assert strong["min_cutoff"] == pytest.approx(auto["min_cutoff"] / 2)
    assert strong["beta"] == pytest.approx(auto["beta"] / 2)


@pytest.mark.parametrize("value", ["banana", "0", "-1", "11", "nan", ""])
def test_bad_strengths_are_one_line_usage_errors(
    short_jittery: tuple[Path, Path], tmp_path: Path, value: str
) -> None:
    source, driving = short_jittery
    out = tmp_path / "out.mp4"
    code, _, stderr = run(source, driving, "-o", out, "--smooth", value, *FAST)
    assert code == 2
    assert stderr.count("\n") == 1 and "--smooth" in stderr, stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_batch_takes_the_option(short_jittery: tuple[Path, Path], tmp_path: Path) -> None:
    source, driving = short_jittery
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(source, folder / "face.png")
    shutil.copy(driving, folder / "jittery.mp4")
    code, _, stderr = run("batch", folder, "-o", tmp_path / "out", "--smooth", "oops", *FAST)
    assert code == 2 and "--smooth" in stderr
    code, stdout, stderr = run(
        "batch", folder, "-o", tmp_path / "out", "--json", "--smooth", "0.5", *FAST
    )
    assert code == 0, stderr
    (pair,) = json.loads(stdout)["pairs"]
    assert pair["status"] == "ok" and Path(pair["output"]).is_file()
