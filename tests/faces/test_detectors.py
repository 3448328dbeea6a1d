"""Detectors: the offline LBP backend on a real face, and face-alignment's offline guards.

face-alignment's weights cannot be downloaded here and must never be: every test that could
reach its construction runs with an empty torch hub folder and sockets disabled.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import animatecli.faces.detectors.face_alignment_fan as detect_mod
from animatecli.errors import AnimateError, InputError
from animatecli.faces import (
    DetectorUnavailable,
    DlibBackend,
    FaceAlignmentBackend,
    FaceDetector,
    LbpCascadeBackend,
    TubeTracker,
    face_alignment_checkpoint_dir,
    face_alignment_weight_paths,
    face_alignment_weights_available,
    make_detector,
)

from .faces_testutil import (
    ASTRONAUT_FACE,
    astronaut,
    box_iou,
    make_canvas,
    place_astronaut,
)

# ----------------------------------------------------------------------------- FaceBox


# ----------------------------------------------------------------------------- LBP backend


def test_lbp_is_a_face_detector(lbp: LbpCascadeBackend) -> None:
    assert isinstance(lbp, FaceDetector)
    assert lbp.supports_landmarks is False
    with pytest.raises(NotImplementedError):
        lbp.landmarks(astronaut())


def test_lbp_finds_the_astronaut(lbp: LbpCascadeBackend) -> None:
    boxes = lbp.detect(astronaut())
    assert boxes, "no face found"
    assert box_iou(boxes[0].as_tuple(), ASTRONAUT_FACE) > 0.6
    assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True)


@pytest.mark.parametrize(
    ("scale", "center", "background"),
    [
        (0.6, (320, 180), "gray"),  # ~53 px face
        (0.6, (90, 70), "noise"),  # small, top-left
        (1.0, (520, 250), "noise"),  # bottom-right
        (1.0, (320, 180), "noise"),
        (1.6, (200, 170), "noise"),  # ~140 px face
        (2.3, (330, 170), "gray"),  # ~200 px face, most of the frame height
        (2.3, (520, 190), "noise"),  # large face cut by the right border
    ],
)
def test_lbp_finds_the_face_at_several_positions_and_scales(
    lbp: LbpCascadeBackend, scale: float, center: tuple[int, int], background: str
) -> None:
    frame, truth = place_astronaut(make_canvas(kind=background), scale, center)
    boxes = lbp.detect(frame)
    assert boxes, "no face found"
    assert box_iou(boxes[0].as_tuple(), truth) > 0.5, (boxes, truth)


def test_lbp_finds_a_tight_crop_and_a_tilted_head(lbp: LbpCascadeBackend) -> None:
    img = astronaut()
    # A 256×256 crop where the face covers ~80% of the width (FOMM's example images).
    crop = cv2.resize(img[60:170, 167:277], (256, 256), interpolation=cv2.INTER_CUBIC)
    boxes = lbp.detect(crop)
    assert boxes and boxes[0].width > 0.6 * 256
    # Tilted by 14°: the upright cascade pass misses it; the rotated retry must not.
    cx, cy = 222.0, 115.0
    rot = cv2.getRotationMatrix2D((cx, cy), 14.0, 1.0)
    tilted = cv2.warpAffine(img, rot, (512, 512), borderMode=cv2.BORDER_REFLECT)
    boxes = lbp.detect(tilted)
    assert boxes
    assert abs(boxes[0].center[0] - cx) < 25 and abs(boxes[0].center[1] - cy) < 25


def test_lbp_finds_nothing_on_plain_images(lbp: LbpCascadeBackend) -> None:
    assert lbp.detect(np.full((360, 640, 3), 90, np.uint8)) == []
    assert lbp.detect(np.zeros((10, 10, 3), np.uint8)) == []  # smaller than any face


def test_lbp_rejects_bad_images(lbp: LbpCascadeBackend) -> None:
    with pytest.raises(ValueError):
        lbp.detect(np.zeros((100, 100), np.uint8))
    with pytest.raises(ValueError):
        lbp.detect(np.zeros((100, 100, 3), np.float32))


def two_astronauts(dx: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    frame, left = place_astronaut(make_canvas(kind="gray"), 0.85, (165 + dx, 170))
    frame, right = place_astronaut(frame, 0.85, (475 + dx, 170))
    return frame, [left, right]


def test_two_faces_side_by_side_give_two_detections_and_two_tubes(
    lbp: LbpCascadeBackend,
) -> None:
    tracker = TubeTracker()
    for i in range(4):
        frame, truths = two_astronauts(dx=6 * i)  # slow pan
        boxes = lbp.detect(frame)
        assert len(boxes) == 2, boxes
        for truth in truths:
            assert max(box_iou(b.as_tuple(), truth) for b in boxes) > 0.5
        tracker.update(i, boxes)
    tubes = tracker.finish()
    assert len(tubes) == 2
    assert all((t.start_frame, t.end_frame) == (0, 3) for t in tubes)
    assert sorted(t.initial_box.center[0] < 320 for t in tubes) == [False, True]


# ----------------------------------------------------------------------------- face-alignment


def test_weight_file_names_match_the_installed_face_alignment() -> None:
    names = [p.name for p in face_alignment_weight_paths()]
    assert names == ["s3fd-619a316812.pth", "2DFAN4-11f355bf06.pth.tar"]
    spec = importlib.util.find_spec("face_alignment")
    if spec is None or spec.origin is None:
        pytest.skip("face-alignment not installed")
    root = Path(spec.origin).parent  # read its source without importing it (no torch import)
    source = (root / "api.py").read_text() + (root / "detection/sfd/sfd_detector.py").read_text()
    for url in detect_mod.FACE_ALIGNMENT_WEIGHT_URLS.values():
        assert url in source


def test_weights_unavailable_in_an_empty_hub(empty_torch_hub: Path, no_network: None) -> None:
    assert face_alignment_checkpoint_dir() == empty_torch_hub
    assert face_alignment_weights_available() is False


def test_weights_available_once_both_files_exist(empty_torch_hub: Path, no_network: None) -> None:
    empty_torch_hub.mkdir(parents=True)
    s3fd, fan = face_alignment_weight_paths()
    s3fd.write_bytes(b"x")
    assert face_alignment_weights_available() is False
    fan.write_bytes(b"")
    assert face_alignment_weights_available() is False  # empty file: not usable
    fan.write_bytes(b"x")
    assert face_alignment_weights_available() is (
        importlib.util.find_spec("face_alignment") is not None
    )


def test_availability_check_does_not_import_torch(empty_torch_hub: Path) -> None:
    import subprocess

    code = (
        "import sys; from animatecli.faces import face_alignment_weights_available as f; "
        "r = f(); assert isinstance(r, bool); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_auto_falls_back_to_dlib_silently(empty_torch_hub: Path, no_network: None) -> None:
    notices: list[str] = []
    assert isinstance(make_detector("auto", notify=notices.append), DlibBackend)
    assert notices == []


def test_auto_falls_back_to_lbp_when_dlib_is_missing_too(
    empty_torch_hub: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import animatecli.faces.detectors as registry

    monkeypatch.setattr(registry, "dlib_missing_reason", lambda: "dlib is not installed")
    notices: list[str] = []
    assert isinstance(make_detector("auto", notify=notices.append), LbpCascadeBackend)
    assert len(notices) == 1 and "dlib is not installed" in notices[0]
    assert str(empty_torch_hub) in notices[0] and "offline LBP detector" in notices[0]
    assert "\n" not in notices[0]


def test_explicit_face_alignment_without_weights_fails_fast(
    empty_torch_hub: Path, no_network: None
) -> None:
    start = time.perf_counter()
    with pytest.raises(DetectorUnavailable) as info:
        make_detector("face-alignment")
    assert time.perf_counter() - start < 2.0
    assert isinstance(info.value, AnimateError)
    message = str(info.value)
    assert "\n" not in message and str(empty_torch_hub) in message
    assert "s3fd-619a316812.pth" in message
    with pytest.raises(DetectorUnavailable):
        FaceAlignmentBackend()


def test_offline_names_and_unknown_kind() -> None:
    assert isinstance(make_detector("opencv"), LbpCascadeBackend)
    assert isinstance(make_detector("lbp"), LbpCascadeBackend)
    assert isinstance(make_detector("dlib"), DlibBackend)
    with pytest.raises(InputError):
        make_detector("mtcnn")


@pytest.mark.skipif(
    importlib.util.find_spec("face_alignment") is None, reason="face-alignment not installed"
)
def test_corrupt_cached_weights_become_a_clean_error_and_auto_falls_back(
    empty_torch_hub: Path, no_network: None
) -> None:
    # Files present but not loadable: face-alignment is really constructed (it finds the
    # cached files, so no download) and fails in torch.load; we must turn that into one line.
    empty_torch_hub.mkdir(parents=True)
    for path in face_alignment_weight_paths():
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorUnavailable) as info:
        FaceAlignmentBackend()
    assert "\n" not in str(info.value)
    assert isinstance(make_detector("auto"), DlibBackend)


class _FakeSFD:
    """Stands in for face-alignment's S3FD: fixed boxes in the coordinates it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def detect_from_image(self, image: np.ndarray) -> list[np.ndarray]:
        self.seen.append(image.shape)
        return [np.array([10.0, 10.0, 50.0, 60.0, 0.6]), np.array([100, 40, 200, 160, 0.99])]


class _FakeFA:
    def __init__(self) -> None:
        self.face_detector = _FakeSFD()
        self.given: list[np.ndarray] | None = None

    def get_landmarks_from_image(
        self, image: np.ndarray, detected_faces: list[np.ndarray]
    ) -> list[np.ndarray]:
        self.given = detected_faces
        return [np.full((68, 2), float(d[0]), np.float32) for d in detected_faces]


def test_face_alignment_glue_downscales_and_sorts() -> None:
    # Exercise our wrapper around a fake face-alignment object (the real weights are absent).
    backend = object.__new__(FaceAlignmentBackend)
    backend._fa = _FakeFA()  # type: ignore[attr-defined]
    image = np.zeros((720, 1280, 3), np.uint8)
    boxes = backend.detect(image)
    assert backend._fa.face_detector.seen == [(360, 640, 3)]  # type: ignore[attr-defined]
    assert [b.score for b in boxes] == [0.99, 0.6]
    assert boxes[0].as_tuple() == (200.0, 80.0, 400.0, 320.0)  # mapped back to 1280×720
    points = backend.landmarks(image)
    assert len(points) == 2 and points[0].shape == (68, 2) and points[0].dtype == np.float64
    assert points[0][0, 0] == 200.0  # the best face first, in full-resolution pixels
