"""The bundled cartoon model tells the truth: a real face (scikit-image's astronaut) in the
photo or the driving video gets one notice naming ``animate models fetch fomm-vox``, on
stderr and in ``--json``; the examples (procedural cartoon heads) never do, and neither does
a job with another model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import skimage.data
from testutil import Samples
from typer.testing import CliRunner

from animatecli import faces, media
from animatecli.catalogue import BUNDLED_ON_REAL_FACE_NOTICE
from animatecli.cli import app
from animatecli.runtime.real_face import REAL_FACE_DETAIL, face_detail, shows_real_face

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SOURCE = ROOT / "examples" / "source.png"
EXAMPLE_DRIVING = ROOT / "examples" / "driving.mp4"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
runner = CliRunner()


@pytest.fixture(scope="module")
def short_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 4 frames of examples/driving.mp4, as they are (stream copy)."""
    path = tmp_path_factory.mktemp("examples") / "driving4.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(EXAMPLE_DRIVING), "-frames:v", "4", "-c", "copy",
         "-an", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def astronaut_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def animate_json(*args: str) -> tuple[dict[str, object], str]:
    result = runner.invoke(app, [*args, "--preset", "ultrafast", "--json", "-y"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_the_examples_show_no_real_face_on_any_frame() -> None:
    detector = faces.make_detector("dlib")
    assert not shows_real_face(media.load_image(EXAMPLE_SOURCE), detector)
    info = media.probe_video(EXAMPLE_DRIVING)
    found, frames = 0, 0
    with media.VideoReader(EXAMPLE_DRIVING, info=info) as reader:
        for frame in reader:
            boxes = detector.detect(frame)
            found += bool(boxes)  # dlib alone takes the cartoon head for a face ...
            assert all(face_detail(frame, b) < REAL_FACE_DETAIL for b in boxes)  # ... not this
            frames += 1
    assert frames == info.frame_count_estimate and found > frames // 2
    astronaut = skimage.data.astronaut()
    assert shows_real_face(astronaut, detector)


def test_no_notice_on_the_examples(short_example: Path, tmp_path: Path) -> None:
    report, stderr = animate_json(
        str(EXAMPLE_SOURCE), str(short_example), "-o", str(tmp_path / "o.mp4")
    )
    assert report["notices"] == []
    assert "models fetch" not in stderr


def test_one_notice_on_a_real_photo_with_the_bundled_model(
    astronaut_photo: Path, short_example: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.mp4"
    report, stderr = animate_json(str(astronaut_photo), str(short_example), "-o", str(out))
    assert report["notices"] == [BUNDLED_ON_REAL_FACE_NOTICE]
    assert "`animate models fetch fomm-vox`" in BUNDLED_ON_REAL_FACE_NOTICE
    # Said once on stderr too (rich wraps lines: compare without line breaks).
    assert " ".join(stderr.split()).count("animate models fetch fomm-vox") == 1
    assert report["checkpoint"]["origin"] == "bundled default" and out.is_file()


def test_a_real_face_in_the_driving_video_also_says_it(tmp_path: Path) -> None:
    frame = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    clip = tmp_path / "talk.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "512x512",
         "-r", "25", "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16",
         "-pix_fmt", "yuv420p", str(clip)],
        input=np.stack([frame] * 3).tobytes(),
        check=True,
    )  # fmt: skip
    report, _ = animate_json(str(EXAMPLE_SOURCE), str(clip), "-o", str(tmp_path / "o.mp4"))
    # (A still clip also says that no driving frame has landmarks to align on.)
    assert report["notices"].count(BUNDLED_ON_REAL_FACE_NOTICE) == 1  # type: ignore[union-attr]


def test_no_notice_with_another_model(
    astronaut_photo: Path, samples: Samples, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    report, _ = animate_json(
        str(astronaut_photo), str(samples.v25), "-o", str(tmp_path / "o.mp4"),
        "--checkpoint", str(tiny_checkpoint),
    )  # fmt: skip
    assert BUNDLED_ON_REAL_FACE_NOTICE not in report["notices"]
