"""Several sources in one batch per driving frame equal separate sessions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animatecli.engine import Animator, OneEuroSettings, frames_to_tensor, load_checkpoint
from animatecli.models import resolve_checkpoint
from animatecli.training import synthetic


@pytest.mark.parametrize("smoothing", [None, OneEuroSettings()])
def test_group_session_matches_one_session_per_source(smoothing: OneEuroSettings | None) -> None:
    animator = Animator(load_checkpoint(resolve_checkpoint(None)[0]).model)
    videos = [np.stack(list(frames)) for _, frames in synthetic.heldout_videos(3, 6, size=128)]
    sources = frames_to_tensor(np.stack([v[0] for v in videos]))
    driving = frames_to_tensor(videos[0][1:])
    # Each source has its own initial frame: 0, 2 and 4 of the driving clip.
    initials = [animator.keypoints(driving[i : i + 1]) for i in (0, 2, 4)]
    group = animator.group_session(sources, initials=list(initials), smoothing=smoothing, fps=25.0)
    together = torch.cat([group.animate_batch(part) for part in driving.split(2)])
    assert together.shape == (5, 3, 3, 128, 128)
    for face in range(3):
        alone = animator.session(
            sources[face], initial=initials[face], smoothing=smoothing, fps=25.0
        ).animate_batch(driving)
        torch.testing.assert_close(together[:, face], alone, atol=1e-4, rtol=0)


def test_initials_must_match_the_sources() -> None:
    animator = Animator(load_checkpoint(resolve_checkpoint(None)[0]).model)
    with pytest.raises(ValueError):
        animator.group_session(torch.rand(2, 3, 128, 128), initials=[None])
