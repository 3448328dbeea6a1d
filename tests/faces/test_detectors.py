"""Choosing a face detector (``make_detector``): the offline names, and ``auto`` falling back
from face-alignment to dlib to LBP without a word where the better backend cannot run.

face-alignment's weights cannot be downloaded here and must never be: every test that could
reach its construction runs with an empty torch hub folder and sockets disabled.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from animatecli.errors import AnimateError, InputError
from animatecli.faces import (
    DetectorUnavailable,
    DlibBackend,
    FaceAlignmentBackend,
    LbpCascadeBackend,
    make_detector,
)


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
