"""``--upscale`` in ``animate run`` and the ``animate upscale`` command, through the real
CLI on real files (the compact animevideo net on 64×64 frames: cheap)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from testutil import Samples, ffmpeg
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.engine.upscale import UpscalerConfig, build_net
from animatecli.media import VideoReader, probe_video

from .cli_testutil import assert_one_line_error, finish, start

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

runner = CliRunner()
# Pixel comparisons between runs: no watermark (it marks every pixel of a frame).
FAST = [
    "--crop-source", "off", "--crop-driving", "off", "--align", "first", "--preset", "ultrafast",
    "--watermark", "off",
]  # fmt: skip
ANIMEVIDEO_X2 = ["--upscale", "2", "--upscaler", "animevideo"]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detailed 160×120 photo (the astronaut), larger than the model's 64×64 frames."""
    import skimage.data

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    image = cv2.resize(skimage.data.astronaut()[:300, 100:400], (160, 120), cv2.INTER_AREA)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 64×64 frames at 25 fps with sound."""
    path = tmp_path_factory.mktemp("clip") / "short.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-f", "lavfi",
        "-i", "sine=frequency=440:sample_rate=48000", "-t", "0.16", "-c:v", "libx264",
        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


def animate(*args: str | Path, checkpoint: Path | None) -> dict:
    """``animate ARGS --json`` in this process (``checkpoint`` None: the bundled model)."""
    model = [] if checkpoint is None else ["--checkpoint", str(checkpoint)]
    result = runner.invoke(app, [*map(str, args), *model, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def frames_of(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader)


def laplacian_variance(image: np.ndarray) -> float:
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_upscale_2_doubles_the_model_size(
    photo: Path, short_clip: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    report = animate(
        photo, short_clip, "-o", out, *FAST, *ANIMEVIDEO_X2, checkpoint=tiny_checkpoint
    )
    assert (report["width"], report["height"]) == (128, 128)
    assert report["upscale"] == {"upscaler": "animevideo", "scale": 2}
    frames = frames_of(out)
    assert len(frames) == 4 and frames[0].shape == (128, 128, 3)
    assert report["audio_kept"]
    plain = animate(
        photo, short_clip, "-o", tmp_path / "plain.mp4", *FAST, checkpoint=tiny_checkpoint
    )
    assert (plain["width"], plain["height"], plain["upscale"]) == (64, 64, None)


def test_paste_back_keeps_the_photo_size_and_sharpens_the_face(tmp_path: Path) -> None:
    """The bundled model (128×128 frames, a real picture out) on a 320×240 photo: its
    animated square is pasted over the 240×240 box, stretched from 128 without the
    upscaler and reduced from 256 with it."""
    import skimage.data

    photo = tmp_path / "astronaut.png"
    image = cv2.resize(skimage.data.astronaut()[:300, 100:400], (320, 240), cv2.INTER_AREA)
    cv2.imwrite(str(photo), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    driving = tmp_path / "driving.mp4"
    ffmpeg("-i", str(EXAMPLES / "driving.mp4"), "-frames:v", "2", "-an", str(driving))
    outputs = {}
    for name, extra in (("plain", []), ("upscaled", ANIMEVIDEO_X2)):
        outputs[name] = tmp_path / name
        report = animate(
            photo, driving, "-o", f"{outputs[name]}/", *FAST, "--paste-back", *extra,
            checkpoint=None,
        )  # fmt: skip
        assert (report["width"], report["height"]) == (320, 240)
    plain = cv2.imread(str(outputs["plain"] / "frame_000000.png"))
    upscaled = cv2.imread(str(outputs["upscaled"] / "frame_000000.png"))
    assert plain.shape == upscaled.shape == (240, 320, 3)
    # Outside the box (--crop-source off: the centred 240×240 square) nothing changes.
    assert np.array_equal(plain[:, :30], upscaled[:, :30])
    box = (slice(None), slice(40, 280))
    assert np.abs(plain[box].astype(int) - upscaled[box].astype(int)).mean() > 1
    # Measured 72 against 225 (the upscaled face has the photo's own edges).
    assert laplacian_variance(upscaled[box]) > 2 * laplacian_variance(plain[box])


def test_compare_panels_stay_aligned(
    photo: Path, short_clip: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare"
    report = animate(
        photo, short_clip, "-o", f"{out}/", *FAST, "--compare", *ANIMEVIDEO_X2,
        checkpoint=tiny_checkpoint,
    )  # fmt: skip
    assert (report["width"], report["height"]) == (3 * 128, 128)
    frame = cv2.cvtColor(cv2.imread(str(out / "frame_000000.png")), cv2.COLOR_BGR2RGB)
    assert frame.shape == (128, 384, 3)
    # The source panel is the model's input enlarged to the upscaled height: the same
    # picture as the plain --compare's first panel, resized.
    plain_out = tmp_path / "compare_plain"
    animate(
        photo, short_clip, "-o", f"{plain_out}/", *FAST, "--compare", checkpoint=tiny_checkpoint
    )
    plain = cv2.cvtColor(cv2.imread(str(plain_out / "frame_000000.png")), cv2.COLOR_BGR2RGB)
    enlarged = cv2.resize(plain[:, :64], (128, 128), interpolation=cv2.INTER_CUBIC)
    assert np.abs(frame[:, :128].astype(int) - enlarged.astype(int)).mean() < 2


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--upscale", "5"], r"--upscale must be off, 2, 3 or 4, got '5'"),
        (["--upscale", "2", "--upscaler", "nonsense"], r"--upscaler must be auto, animevideo"),
        (["--upscaler", "missing.pth"], r"--upscaler file not found: missing.pth"),
    ],
)
def test_bad_upscale_options_fail_before_torch_loads(
    photo: Path,
    short_clip: Path,
    tiny_checkpoint: Path,
    tmp_path: Path,
    args: list[str],
    match: str,
) -> None:
    # torch cannot be imported here: the check must come first.
    proc = start(
        (str(photo), str(short_clip), "-o", "out.mp4", *args), tmp_path, tiny_checkpoint,
        torch=False,
    )  # fmt: skip
    assert_one_line_error(finish(proc), 2, match)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--scale", "5"], r"--scale must be 2, 3 or 4, got '5'"),
        (["--upscaler", "nonsense"], r"--upscaler must be auto, animevideo"),
    ],
)
def test_upscale_command_bad_options_fail_before_torch_loads(
    short_clip: Path, tiny_checkpoint: Path, tmp_path: Path, args: list[str], match: str
) -> None:
    proc = start(
        ("upscale", str(short_clip), "-o", "out.mp4", *args), tmp_path, tiny_checkpoint,
        torch=False,
    )  # fmt: skip
    assert_one_line_error(finish(proc), 2, match)


def test_upscale_command_on_a_clip_keeps_sound_and_frame_rate(
    samples: Samples, tmp_path: Path
) -> None:
    out = tmp_path / "sharp.mp4"
    result = runner.invoke(
        app, ["upscale", str(samples.v30_audio), "-o", str(out), "--scale", "2",
              "--upscaler", "animevideo", "--preset", "ultrafast", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    source, info = probe_video(samples.v30_audio), probe_video(out)
    assert (info.width, info.height) == (2 * source.width, 2 * source.height) == (160, 120)
    assert info.fps == source.fps
    assert report["audio_kept"] and report["scale"] == 2 and report["upscaler"] == "animevideo"
    assert info.has_audio
    assert len(frames_of(out)) == report["frames"] == 30


def test_upscale_command_on_an_image_defaults_to_x4_and_auto_picks_photo(tmp_path: Path) -> None:
    """The one RRDB run of these tests: auto on a tiny still picks x4plus."""
    import skimage.data

    image = tmp_path / "tiny.png"
    cv2.imwrite(str(image), cv2.resize(skimage.data.astronaut()[:220, 130:350], (16, 12)))
    out = tmp_path / "tiny_x4.png"
    result = runner.invoke(app, ["upscale", str(image), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "auto: photo" in result.stderr
    assert cv2.imread(str(out)).shape == (48, 64, 3)
    # Never over an existing output without -y, and the input is untouched.
    again = runner.invoke(app, ["upscale", str(image), "-o", str(out), "--scale", "2"])
    assert again.exit_code == 2 and "exists" in again.stderr
    assert cv2.imread(str(out)).shape == (48, 64, 3)


def test_upscaler_path_reads_an_official_layout_pth(
    photo: Path, short_clip: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    net = build_net(UpscalerConfig("compact", 16, 2, 2, 2))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.05)
    weights = tmp_path / "tiny_compact_x2.pth"
    torch.save({"params": net.state_dict()}, weights)
    out = tmp_path / "out.mp4"
    report = animate(
        photo, short_clip, "-o", out, *FAST, "--upscale", "2", "--upscaler", weights,
        checkpoint=tiny_checkpoint,
    )  # fmt: skip
    assert report["upscale"] == {"upscaler": str(weights), "scale": 2}
    assert (report["width"], report["height"]) == (128, 128)
    # A ×2 file cannot be asked for ×4: one line, exit 2.
    refused = runner.invoke(
        app, [str(photo), str(short_clip), "-o", str(tmp_path / "x4.mp4"), *FAST,
              "--upscale", "4", "--upscaler", str(weights), "--checkpoint", str(tiny_checkpoint)],
    )  # fmt: skip
    assert refused.exit_code == 2, refused.stderr
    assert "is a ×2 model" in refused.stderr
    assert not (tmp_path / "x4.mp4").exists()


def test_help_lists_the_upscale_command_and_options() -> None:
    assert "animate upscale" in runner.invoke(app, ["--help"]).stdout
    run_help = runner.invoke(app, ["run", "--help"]).stdout
    assert "--upscale" in run_help and "--upscaler" in run_help


def test_upscale_command_honours_the_rotation_tag(samples: Samples, tmp_path: Path) -> None:
    out = tmp_path / "upright"
    result = runner.invoke(
        app, ["upscale", str(samples.rotated), "-o", f"{out}/", "--scale", "2",
              "--upscaler", "animevideo", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    first = cv2.imread(str(out / "frame_000000.png"))
    assert first.shape == (192, 128, 3)  # 96×64 stored, shown 64×96 upright, ×2
    assert len(list(out.iterdir())) == 25


def test_batch_takes_upscale_for_every_pair(
    photo: Path, short_clip: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "astronaut.png").write_bytes(photo.read_bytes())
    (inputs / "short.mp4").write_bytes(short_clip.read_bytes())
    result = runner.invoke(
        app, ["batch", str(inputs), "-o", str(outputs), *FAST, *ANIMEVIDEO_X2, "--json",
              "--checkpoint", str(tiny_checkpoint)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = list(outputs.glob("*.mp4"))
    assert len(written) == 1
    info = probe_video(written[0])
    assert (info.width, info.height) == (128, 128)


def test_upscale_command_marks_its_output_unless_told_not_to(
    samples: Samples, tmp_path: Path
) -> None:
    """An upscaled video is still a made one: watermark, label and credentials by default
    (`animate verify` says marked), none with both marks off (verify: not marked, 5)."""
    common = ["--scale", "2", "--upscaler", "animevideo", "--preset", "ultrafast"]
    marked, plain = tmp_path / "marked.mp4", tmp_path / "plain.mp4"
    result = runner.invoke(
        app, ["upscale", str(samples.v30_audio), "-o", str(marked), *common, "--json"]
    )
    assert result.exit_code == 0, result.stderr
    provenance = json.loads(result.stdout)["provenance"]
    assert provenance["watermark"]["embedded"] and provenance["credentials"]["signed"]
    assert provenance["credentials"]["ingredients"][0]["role"] == "input"
    off = ["--credentials", "off", "--watermark", "off"]
    result = runner.invoke(
        app, ["upscale", str(samples.v30_audio), "-o", str(plain), *common, *off]
    )
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["verify", str(marked)]).exit_code == 0
    assert runner.invoke(app, ["verify", str(plain)]).exit_code == 5
