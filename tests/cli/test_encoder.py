"""``--encoder``, the codecs a job reports, and the CPU path of the frame transfers, through
the real ``animate`` command and real ffmpeg.

This machine has no NVIDIA driver: NVENC asked for must be refused early and cleanly, and
``auto`` must fall back to x264 without a word. Cases that need the driver absent are
skipped where one is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from testutil import Samples, without_driver
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.engine import Animator, frames_to_tensor, load_checkpoint, tensor_to_frames
from animatecli.media import VideoReader, fit_image, load_image, probe_streams

from .cli_testutil import assert_one_line_error, finish, snapshot, start, write_face

runner = CliRunner()
FAST = ["--crop-source", "off", "--crop-driving", "off", "--align", "first", "--smooth", "off"]


@pytest.fixture
def work(tmp_path: Path, samples: Samples) -> Path:
    root = tmp_path / "work"
    (root / "in").mkdir(parents=True)
    write_face(root / "face.png")
    write_face(root / "in" / "face.png")
    (root / "talk.mp4").write_bytes(samples.v25.read_bytes())
    (root / "in" / "talk.mp4").write_bytes(samples.v25.read_bytes())
    return root


def animate_json(*args: str | Path, checkpoint: Path) -> dict:
    result = runner.invoke(app, [*map(str, args), "--checkpoint", str(checkpoint), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@without_driver
@pytest.mark.parametrize(
    "args",
    [
        ("face.png", "talk.mp4", "--encoder", "nvenc"),
        ("face.png", "talk.mp4", "-o", "out.mkv", "--encoder", "nvenc", "--device", "cuda:1"),
        ("batch", "in", "--encoder", "nvenc"),
    ],
)
def test_nvenc_without_nvenc_is_refused_before_torch_loads(
    work: Path, tiny_checkpoint: Path, args: tuple[str, ...]
) -> None:
    """One line, exit 2, no output and no output folder; torch is made unimportable, so
    the refusal comes before the model stack (let alone the model) loads."""
    before = snapshot(work)
    proc = finish(start(args, work, tiny_checkpoint, torch=False))
    assert_one_line_error(proc, 2, r"--encoder nvenc: NVENC does not work here \(.*libcuda")
    assert snapshot(work) == before


@without_driver
def test_auto_reports_x264_and_software_decoding(work: Path, tiny_checkpoint: Path) -> None:
    out = work / "out.mp4"
    report = animate_json(work / "face.png", work / "talk.mp4", "-o", out, *FAST,
                          checkpoint=tiny_checkpoint)  # fmt: skip
    assert report["encoder"] == {"name": "libx264", "reason": "auto: the job runs on the CPU"}
    assert report["decoder"] == {"name": "software", "reason": "the job runs on the CPU"}
    assert report["cuda_graph"] is None  # not asked for
    assert probe_streams(out)[0].codec == "h264"


@without_driver
def test_doctor_says_why_nvenc_and_nvdec_do_not_work(tiny_checkpoint: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--checkpoint", str(tiny_checkpoint)])
    engines = json.loads(result.stdout)["video_engines"]
    for name in ("nvenc", "nvdec"):
        assert not engines[name]["available"] and "libcuda" in engines[name]["reason"]
    table = runner.invoke(app, ["doctor", "--checkpoint", str(tiny_checkpoint)]).stdout
    assert "ffmpeg NVENC" in table and "ffmpeg NVDEC" in table


def test_encoder_is_reported_for_each_output_kind(work: Path, tiny_checkpoint: Path) -> None:
    cases = [
        ("x.mp4", ["--encoder", "x264"], "libx264", "--encoder x264"),
        ("x.webm", [], "libvpx-vp9", "--encoder applies to H.264 outputs (.mp4, .mov, .mkv)"),
        ("x.gif", ["--encoder", "x264"], "gif", "--encoder applies"),
        ("frames/", [], "png", "--encoder applies"),
    ]
    for output, extra, name, reason in cases:
        report = animate_json(work / "face.png", work / "talk.mp4", "-o", f"{work}/{output}",
                              *FAST, *extra, checkpoint=tiny_checkpoint)  # fmt: skip
        assert report["encoder"]["name"] == name
        assert report["encoder"]["reason"].startswith(reason)


def test_verbose_says_which_encoder_and_decoder(work: Path, tiny_checkpoint: Path) -> None:
    inputs = [str(work / "face.png"), str(work / "talk.mp4"), "-o", str(work / "v.mp4")]
    result = runner.invoke(app, [*inputs, *FAST, "-v", "-q", "--checkpoint", str(tiny_checkpoint)])
    assert result.exit_code == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "encoder: libx264 (auto: the job runs on the CPU); driving decoder: software" in said


def test_cpu_frames_are_those_of_the_plain_animator(work: Path, tiny_checkpoint: Path) -> None:
    """On the CPU the pipeline's transfers change nothing: its PNG frames are, bit for bit,
    the Animator's fed by `frames_to_tensor` and read back by `tensor_to_frames`, batch by
    batch (3 frames per batch, the last one short: 25 frames)."""
    out = work / "frames"
    animate_json(work / "face.png", work / "talk.mp4", "-o", f"{out}/", *FAST, "--watermark", "off",
                 "--batch-size", "3", checkpoint=tiny_checkpoint)  # fmt: skip
    written = np.stack(
        [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(out.glob("*.png"))]
    )
    model = load_checkpoint(tiny_checkpoint).model
    animator = Animator(model, device="cpu", channels_last=True)
    size = animator.frame_shape
    session = animator.session(frames_to_tensor(fit_image(load_image(work / "face.png"), size)))
    with VideoReader(work / "talk.mp4") as reader:
        driving = np.stack([fit_image(frame, size) for frame in reader])
    expected = np.concatenate(
        [
            tensor_to_frames(session.animate_batch(frames_to_tensor(driving[i : i + 3])))
            for i in range(0, len(driving), 3)
        ]
    )
    assert written.shape == expected.shape == (25, *size, 3)
    assert np.array_equal(written, expected)
