"""Smoothing on a real face: the astronaut framed along a known trajectory with
detection-like jitter, through the bundled model (issue 19's thresholds)."""

from __future__ import annotations

import numpy as np
import pytest
from faces.faces_testutil import ASTRONAUT_FACE, astronaut

from animatecli.engine import (
    Animator,
    MotionMode,
    OneEuroSettings,
    frames_to_tensor,
    load_checkpoint,
    tensor_to_frames,
)
from animatecli.models import resolve_checkpoint
from animatecli.training.jitter import (
    JitteredVideo,
    SmoothingScores,
    jittered_face_video,
    score_smoothing,
)


@pytest.fixture(scope="module")
def animator() -> Animator:
    path, _ = resolve_checkpoint(None)  # the bundled model
    return Animator(load_checkpoint(path).model)


@pytest.fixture(scope="module")
def video(animator: Animator) -> JitteredVideo:
    return jittered_face_video(astronaut(), ASTRONAUT_FACE, size=animator.frame_shape[0])


@pytest.fixture(scope="module")
def scores(animator: Animator, video: JitteredVideo) -> dict[str, SmoothingScores]:
    return {
        "off": score_smoothing(animator, video, None),
        "auto": score_smoothing(animator, video, OneEuroSettings()),
    }


def test_the_video_follows_its_trajectory(video: JitteredVideo) -> None:
    clean = video.clean.astype(np.int16)
    # Still stretches of the clean video are exactly still; the pans move.
    still = np.flatnonzero(video.still)
    assert not np.abs(np.diff(clean[still[:5]], axis=0)).any()
    assert np.abs(clean[video.fast] - clean[np.flatnonzero(video.fast) - 1]).mean() > 5
    assert np.abs(video.jittered.astype(np.int16) - clean)[video.still].mean() > 2


def test_jitter_on_still_stretches_is_at_least_halved(
    scores: dict[str, SmoothingScores],
) -> None:
    assert scores["off"].jitter_px > 1.0  # the detector's jitter reaches the keypoints
    assert scores["auto"].jitter_px <= 0.5 * scores["off"].jitter_px, scores


def test_fast_motion_lags_at_most_one_frame(scores: dict[str, SmoothingScores]) -> None:
    assert abs(scores["off"].lag_frames) <= 0.5, scores
    assert scores["auto"].lag_frames <= 1.0, scores


def test_output_flicker_on_still_stretches_is_reduced(
    scores: dict[str, SmoothingScores],
) -> None:
    assert scores["auto"].flicker <= 0.75 * scores["off"].flicker, scores


def test_a_still_video_stays_still(animator: Animator, video: JitteredVideo) -> None:
    frames = frames_to_tensor(np.repeat(video.clean[:1], 12, axis=0))
    session = animator.session(
        frames_to_tensor(video.clean[0]),
        mode=MotionMode.RELATIVE,
        smoothing=OneEuroSettings(),
        fps=video.fps,
    )
    outputs = np.concatenate(
        [tensor_to_frames(session.animate_batch(batch)) for batch in frames.split(5)]
    )
    assert (outputs == outputs[:1]).all()
