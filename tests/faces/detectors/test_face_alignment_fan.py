"""face-alignment's offline guards and glue: its weights cannot be downloaded here and must
never be, so every test that could reach its construction runs with an empty torch hub
folder and sockets disabled."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import animatecli.faces.detectors.face_alignment_fan as detect_mod
from animatecli.faces import (
    DetectorUnavailable,
    DlibBackend,
    FaceAlignmentBackend,
    face_alignment_checkpoint_dir,
    face_alignment_weight_paths,
    face_alignment_weights_available,
    make_detector,
)


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
