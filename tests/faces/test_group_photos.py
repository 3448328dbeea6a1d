"""``--faces all|N``: every face of a group photo animated and pasted back, through the
real CLI, on canvases built from scikit-image's astronaut (the only sample photo in which
dlib finds a human face; the cameraman's is too small and turned away)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from typer.testing import CliRunner

from animatecli.cli import app
from animatecli.faces import GroupPasteBack, PasteBack
from animatecli.media import probe_video

from .faces_testutil import HEAD_CROP, make_canvas, place_astronaut

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
# The watermark marks every pixel: off where the tests compare pixels with the photo.
FAST = [
    "--detector", "dlib", "--crop-driving", "off", "--preset", "ultrafast", "--watermark", "off"
]  # fmt: skip


def group_canvas(
    centres: list[tuple[float, float]],
    size: tuple[int, int],
    crop: tuple[int, int, int, int] = HEAD_CROP,
) -> np.ndarray:
    """Astronauts (every other one mirrored) with their faces at ``centres``, scale 1;
    ``crop``: the part of the photo pasted."""
    canvas = make_canvas(*size, kind="noise", seed=4)
    for i, centre in enumerate(centres):
        mirrored = i % 2 == 1
        if mirrored:
            canvas = canvas[:, ::-1]
            centre = (size[1] - 1 - centre[0], centre[1])
        canvas, _ = place_astronaut(canvas, 1.0, centre, crop)
        if mirrored:
            canvas = canvas[:, ::-1]
    return np.ascontiguousarray(canvas)


@pytest.fixture(scope="module")
def driving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 16 frames of the bundled example video (a cartoon head talking)."""
    path = tmp_path_factory.mktemp("drv") / "talk.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error",
         "-i", str(ROOT / "examples" / "driving.mp4"), "-frames:v", "16",
         "-an", "-c:v", "libx264", "-crf", "12", str(path)],
        check=True,
    )  # fmt: skip
    return path


def write_png(path: Path, image: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def animate(*args: str | Path) -> tuple[int, dict | None, str]:
    result = runner.invoke(app, [*map(str, args)])
    report = json.loads(result.stdout) if result.exit_code == 0 and result.stdout else None
    return result.exit_code, report, result.stderr


def read_frames(folder: Path) -> np.ndarray:
    return np.stack(
        [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(folder.glob("*.png"))]
    )


def check_group_output(photo: np.ndarray, frames: np.ndarray, boxes: list[list[int]]) -> None:
    """Outside every box: the photo's bytes; inside each box: animated."""
    h, w = photo.shape[:2]
    assert frames.shape[1:3] == (h - h % 2, w - w % 2)
    inside = np.zeros(frames.shape[1:3], bool)
    for x0, y0, x1, y1 in boxes:
        inside[y0:y1, x0:x1] = True
    reference = photo[: frames.shape[1], : frames.shape[2]]
    for frame in frames:
        np.testing.assert_array_equal(frame[~inside], reference[~inside])
    for x0, y0, x1, y1 in boxes:
        moved = np.abs(frames[:, y0:y1, x0:x1].astype(int) - reference[y0:y1, x0:x1]).mean()
        assert moved > 2, (x0, y0, x1, y1, moved)


def test_two_faces_each_animated_with_its_own_alignment(driving: Path, tmp_path: Path) -> None:
    photo = group_canvas([(170, 150), (470, 170)], (330, 640))
    source = write_png(tmp_path / "two.png", photo)
    out = tmp_path / "frames"
    code, report, stderr = animate(
        source, driving, "-o", f"{out}/", "--json", "--faces", "all", *FAST
    )
    assert code == 0, stderr
    assert report is not None and len(report["faces"]) == 2
    boxes = [face["box"] for face in report["faces"]]
    # Square crops, one around each face, largest first (both are the same size here).
    for (x0, y0, x1, y1), centre_x in zip(sorted(boxes), (170, 470), strict=True):
        assert x1 - x0 == y1 - y0 and x0 < centre_x < x1
    assert all(f["alignment_method"].startswith("best frame") for f in report["faces"])
    check_group_output(photo, read_frames(out), boxes)


def test_four_faces(driving: Path, tmp_path: Path) -> None:
    centres = [(150, 140), (480, 150), (160, 440), (470, 430)]
    photo = group_canvas(centres, (600, 640))
    source = write_png(tmp_path / "four.png", photo)
    out = tmp_path / "frames"
    code, report, stderr = animate(
        source, driving, "-o", f"{out}/", "--json", "--faces", "all", "--align", "first", *FAST
    )
    assert code == 0, stderr
    assert report is not None and len(report["faces"]) == 4
    check_group_output(photo, read_frames(out), [face["box"] for face in report["faces"]])


def test_overlapping_faces_blend_and_leave_the_rest(driving: Path, tmp_path: Path) -> None:
    # Faces side by side, just apart; their square crops (with FOMM's margin) overlap.
    photo = group_canvas([(160, 130), (278, 140)], (270, 440), crop=(170, 50, 274, 180))
    source = write_png(tmp_path / "close.png", photo)
    out = tmp_path / "frames"
    code, report, stderr = animate(
        source, driving, "-o", f"{out}/", "--json", "--faces", "all", "--align", "first", *FAST
    )
    assert code == 0, stderr
    assert report is not None and len(report["faces"]) == 2
    (_, ay0, ax1, ay1), (bx0, by0, _, by1) = sorted(f["box"] for f in report["faces"])
    assert bx0 < ax1 and max(ay0, by0) < min(ay1, by1), "the crops should overlap"
    check_group_output(photo, read_frames(out), [f["box"] for f in report["faces"]])


def test_asking_for_more_faces_than_found_says_so(driving: Path, tmp_path: Path) -> None:
    photo = group_canvas([(170, 150), (470, 170)], (330, 640))
    source = write_png(tmp_path / "two.png", photo)
    out = tmp_path / "out.mp4"
    code, report, stderr = animate(
        source, driving, "-o", out, "--json", "--faces", "3", "--align", "first", *FAST
    )
    assert code == 0, stderr
    assert "--faces 3: found 2 faces in two.png; animating both" in stderr
    assert report is not None and len(report["faces"]) == 2 and out.is_file()


def test_a_photo_without_faces_is_animated_as_today(driving: Path, tmp_path: Path) -> None:
    source = write_png(tmp_path / "noise.png", make_canvas(200, 200, seed=2))
    code, report, stderr = animate(
        source, driving, "-o", tmp_path / "out.mp4", "--json", "--faces", "all", *FAST
    )
    assert code == 0, stderr
    assert report is not None and report["faces"] is None and report["width"] == 128


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--faces", "many"], "--faces"),
        (["--faces", "0"], "--faces"),
        (["--faces", "all", "--compare"], "--compare"),
        (["--faces", "2", "--crop-source", "off"], "--crop-source"),
    ],
)
def test_bad_faces_options(driving: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    source = write_png(tmp_path / "noise.png", make_canvas(64, 64))
    code, _, stderr = animate(source, driving, "-o", tmp_path / "out.mp4", *args)
    assert code == 2 and needle in stderr and stderr.count("\n") == 1, stderr
    assert not (tmp_path / "out.mp4").exists()


def test_batch_animates_every_face(driving: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "two.png", group_canvas([(170, 150), (470, 170)], (330, 640)))
    shutil.copy(driving, folder / "talk.mp4")
    result = runner.invoke(
        app,
        ["batch", str(folder), "-o", str(tmp_path / "out"), "--json", "--faces", "all",
         "--align", "first", *FAST],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (pair,) = json.loads(result.stdout)["pairs"]
    assert pair["status"] == "ok"
    info = probe_video(Path(pair["output"]))
    assert (info.width, info.height) == (640, 330)  # the whole photo, not a face crop


def test_overlapping_crops_meet_without_a_seam() -> None:
    """Two flat crops of different values over a flat photo: the blend has no step larger
    than the feather ramps make, and the photo is untouched outside the boxes."""
    photo = np.full((120, 200, 3), 50, np.uint8)
    boxes = [(20, 10, 120, 110), (70, 15, 170, 115)]
    paste = GroupPasteBack(photo, boxes)
    out = paste.paste([np.full((64, 64, 3), 100, np.uint8), np.full((64, 64, 3), 200, np.uint8)])
    inside = np.zeros((120, 200), bool)
    for x0, y0, x1, y1 in boxes:
        inside[y0:y1, x0:x1] = True
    assert (out[~inside] == 50).all()

    def largest_step(image: np.ndarray) -> int:
        values = image[..., 0].astype(int)
        return max(np.abs(np.diff(values, axis=0)).max(), np.abs(np.diff(values, axis=1)).max())

    # No jump between neighbours beyond the feather ramp of one crop pasted alone (a hard
    # paste, or a seam where the crops meet, would jump by 100 or 150).
    alone = PasteBack(photo, boxes[1]).paste(np.full((64, 64, 3), 200, np.uint8))
    assert largest_step(out) <= largest_step(alone) < 30
    values = out[..., 0].astype(int)
    # Deep inside one box only, its crop's value; in the middle of the overlap, both mix.
    assert values[60, 40] == 100 and values[60, 150] == 200
    assert 100 < values[60, 95] < 200
