"""CUDA graphs of the generate step (`GraphedSession`): refused off CUDA; where a GPU is,
the same frames as the eager session, eager for other batch sizes, eager for good after
a failed capture. The GPU cases are skipped without one (`make cuda-check` runs them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from animatecli.engine import Animator, GraphedSession, frames_to_tensor, load_checkpoint
from animatecli.models import resolve_checkpoint
from animatecli.training import synthetic

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def bundled_animator(device: str, precision: str = "fp32") -> Animator:
    model = load_checkpoint(resolve_checkpoint(None)[0]).model
    return Animator(model, device=device, precision=precision, channels_last=True)


def clip(count: int = 5) -> torch.Tensor:
    """``count`` frames of a held-out synthetic video, ``count×3×128×128``."""
    ((_, frames),) = synthetic.heldout_videos(1, count, size=128)
    return frames_to_tensor(np.stack(list(frames)))


def test_a_cpu_session_is_refused() -> None:
    session = bundled_animator("cpu").session(clip(1)[0])
    with pytest.raises(ValueError, match="CUDA graphs need a session on a CUDA device"):
        GraphedSession(session, 2)


@cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_replays_give_the_eager_frames(precision: str) -> None:
    frames = clip()
    animator = bundled_animator("cuda", precision)
    eager = animator.session(frames[0], initial=frames[:1])
    graphed = GraphedSession(animator.session(frames[0], initial=frames[:1]), 2)
    for batch in (frames[:2], frames[2:4], frames[1:3]):
        expected = eager.animate_batch(batch)
        got = graphed.animate_batch(batch)
        assert graphed.replaying, graphed.reason
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    short = graphed.animate_batch(frames[4:])  # another batch size: eager
    torch.testing.assert_close(short, eager.animate_batch(frames[4:]), atol=1e-5, rtol=0)
    assert graphed.reason == "CUDA graph replayed at batch 2"


@cuda
def test_a_failed_capture_stays_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = clip()
    animator = bundled_animator("cuda")
    eager = animator.session(frames[0], initial=frames[:1])
    graphed = GraphedSession(animator.session(frames[0], initial=frames[:1]), 2)
    generate = animator.model.generate

    def syncing_generate(*args: Any, **kwargs: Any) -> Any:
        generated = generate(*args, **kwargs)
        generated.prediction.sum().item()  # a host sync: not capturable
        return generated

    monkeypatch.setattr(animator.model, "generate", syncing_generate)
    for batch in (frames[:2], frames[2:4]):
        torch.testing.assert_close(
            graphed.animate_batch(batch), eager.animate_batch(batch), atol=1e-5, rtol=0
        )
    assert not graphed.replaying
    assert graphed.reason.startswith("eager: capture failed (")
