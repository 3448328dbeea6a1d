"""``animate crop``'s plan before any video is written (animatecli.crop): which face tubes
become clips and under what names, the clip's timing, and the commands that move a following
crop. Cutting real videos is tested through the command (tests/cli/test_crop*.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from animatecli import crop
from animatecli.faces import CropPath, FaceBox, FaceTracker
from animatecli.faces.types import FaceTube
from animatecli.media import VideoInfo
from animatecli.options import CropOptions

NTSC = Fraction(30000, 1001)


def video_info(fps: Fraction = NTSC) -> VideoInfo:
    return VideoInfo(
        path=Path("clips/talk.mov"),
        width=640,
        height=360,
        fps=fps,
        frame_count_estimate=None,
        duration=None,
        has_audio=False,
        audio_codec=None,
        video_codec="h264",
    )


def still_tube(first: int, last: int, score: float = 30.0, step: int = 6) -> FaceTube:
    tracker = FaceTracker()
    for frame in range(first, last + 1, step):
        tracker.update(frame, [FaceBox(270, 130, 370, 230, score)])
    (tube,) = tracker.finish()
    return tube


def clip(crop_path: CropPath, fps: Fraction = NTSC) -> crop.FaceClip:
    return crop.FaceClip(
        index=1,
        path=Path("out/a.mp4"),
        sidecar=Path("out/a.json"),
        crop=crop_path,
        face_box=(1.234, 2.0, 3.0, 4.0),
        fps=fps,
        size=256,
        score=12.0,
        detections=5,
    )


def test_names_and_the_default_folder() -> None:
    assert crop.clip_name("talk", 2, 30, 1234) == "talk_face2_000030-001234.mp4"
    assert crop.default_output_dir(Path("/videos/talk.take2.mp4")) == Path("talk.take2_faces")


def test_tubes_become_clips_when_confident_and_long_enough() -> None:
    tubes = [
        still_tube(0, 60),  # 61 frames: 2.03 s at 29.97 fps
        still_tube(100, 120),  # 19 frames (100..118): too short for 1 s
        still_tube(200, 260, score=2.0),  # long enough, but never a confident detection
        still_tube(300, 330),  # 31 frames: 1.03 s
    ]
    options = CropOptions(min_seconds=1.0)
    clips = crop.plan_clips(tubes, video_info(), Path("out"), options, min_score=10.0)
    assert [(c.index, c.start_frame, c.end_frame) for c in clips] == [(1, 0, 60), (2, 300, 330)]
    first = clips[0]
    assert first.path == Path("out/talk_face1_000000-000060.mp4")
    assert first.sidecar == Path("out/talk_face1_000000-000060.json")
    assert (first.track, first.size, first.score, first.detections) == ("static", 256, 30.0, 11)
    assert first.face_box == (270.0, 130.0, 370.0, 230.0)
    # At 29.97 fps a second takes 30 frames (29 are 0.968 s): the count is rounded up.
    for frames, kept in ((29, 0), (30, 1)):
        tube = still_tube(0, frames - 1, step=1)
        assert len(crop.plan_clips([tube], video_info(), Path("."), options, 10.0)) == kept


def test_a_clip_times_its_frames_exactly_and_reports_them_rounded() -> None:
    path = CropPath(300, np.tile([[320.0, 180.0]], (31, 1)), 120, follows=False)
    face = clip(path)
    assert (face.frames, face.box) == (31, (260, 120, 380, 240))
    assert face.start_seconds == pytest.approx(300 * 1001 / 30000)
    assert face.end_seconds == pytest.approx(331 * 1001 / 30000)  # the end of the last frame
    data = face.to_dict()
    assert data["start_seconds"] == 10.01 and data["end_seconds"] == round(331 * 1001 / 30000, 6)
    assert data["face_box"] == [1.23, 2.0, 3.0, 4.0] and data["track"] == "static"
    assert data["box"] == [260, 120, 380, 240] and data["frames"] == 31


def test_a_fixed_crop_sends_no_commands() -> None:
    path = CropPath(0, np.tile([[320.0, 180.0]], (10, 1)), 120, follows=False)
    assert crop.crop_commands(clip(path)) == ""


def test_a_following_crop_is_moved_half_a_frame_before_each_change() -> None:
    centers = np.array([[320.0, 180.0], [320.2, 180.0], [322.0, 180.0], [322.0, 183.0]])
    path = CropPath(50, centers, 120, follows=True)
    face = clip(path, fps=Fraction(25))
    assert face.frame_boxes() == [
        (260, 120, 380, 240),
        (260, 120, 380, 240),  # moved by 0.2 px: the same pixels
        (262, 120, 382, 240),
        (262, 123, 382, 243),
    ]
    # Frame k of the clip arrives at k/25 s (its own timeline starts at 0).
    assert crop.crop_commands(face) == (
        "0.060000 crop@face x 262, crop@face y 120;\n0.100000 crop@face x 262, crop@face y 123;\n"
    )


@pytest.mark.parametrize("detector", ["opencv", "lbp", "dlib"])
def test_offline_detectors_never_need_a_torch_device(detector: str) -> None:
    assert crop.resolve_detector_device(detector, "cuda:7") == "cpu"


def test_auto_without_face_alignment_weights_runs_on_the_cpu(empty_torch_hub: Path) -> None:
    assert crop.resolve_detector_device("auto", "cuda:7") == "cpu"
