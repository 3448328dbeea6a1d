"""Several sources in one batch per driving frame equal separate sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


def test_the_owners_scope_surrounds_every_generator_call_and_nothing_else() -> None:
    """The runtime's memory policy (`memory.large_blocks_mapped`) reaches the engine only
    as the scope it hands the Animator: entered around each generator call of a session
    and of a group session, not around keypoint detection or source preparation."""
    events: list[str] = []

    @contextmanager
    def scope() -> Iterator[None]:
        events.append("enter")
        yield
        events.append("leave")

    animator = Animator(load_checkpoint(resolve_checkpoint(None)[0]).model, generation_scope=scope)
    model = animator.model
    generate, detect = model.generate, model.detect

    def generating(*args: object, **kwargs: object) -> object:
        events.append("generate")
        return generate(*args, **kwargs)

    def detecting(*args: object, **kwargs: object) -> object:
        events.append("detect")
        return detect(*args, **kwargs)

    model.generate, model.detect = generating, detecting  # type: ignore[method-assign]
    frames = torch.rand(2, 3, 128, 128)
    session = animator.session(torch.rand(3, 128, 128))
    assert events == ["detect"]  # the source's keypoints: outside the scope
    events.clear()
    session.animate_batch(frames)
    assert events == ["detect", "enter", "generate", "leave"]
    events.clear()
    animator.group_session(torch.rand(2, 3, 128, 128)).animate_batch(frames)
    assert events[:2] == ["detect", "detect"]  # the sources, then the driving frames
    assert events[2:] == ["enter", "generate", "leave"] * 2  # one call per driving frame
