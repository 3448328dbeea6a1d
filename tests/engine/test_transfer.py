"""Frame transfers to and from the device (`FrameTransfer`): on the CPU exactly the plain
conversions, bit for bit; the CUDA path (pinned memory, a side stream) where a GPU is."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from animatecli.engine import FrameTransfer, frames_to_tensor, tensor_to_frames


def _frames(count: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 40, 56, 3), dtype=np.uint8)


def test_cpu_upload_is_frames_to_tensor_bit_for_bit() -> None:
    frames = _frames()
    transfer = FrameTransfer("cpu")
    uploaded = transfer.upload(frames)
    expected = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    assert not transfer.overlaps
    assert uploaded.dtype == torch.float32 and uploaded.shape == (3, 3, 40, 56)
    assert torch.equal(uploaded, expected)
    assert torch.equal(uploaded, frames_to_tensor(frames))
    # Channels-last strides, as the Animator feeds the networks.
    assert uploaded.is_contiguous(memory_format=torch.channels_last)


def test_cpu_download_is_tensor_to_frames_bit_for_bit() -> None:
    images = torch.rand(4, 3, 40, 56)
    images[0, 0, 0, :4] = torch.tensor([-0.5, 1.5, 0.5 / 255, 1.5 / 255])  # clamp, ties
    frames = FrameTransfer("cpu").download(images).result()
    assert frames.dtype == np.uint8 and frames.shape == (4, 40, 56, 3)
    assert np.array_equal(frames, tensor_to_frames(images))
    assert list(frames[0, 0, :4, 0]) == [0, 255, 0, 2]  # round half to even
    round_trip = FrameTransfer("cpu").download(frames_to_tensor(_frames())).result()
    assert np.array_equal(round_trip, _frames())


def test_read_only_frames_upload_without_warnings() -> None:
    frames = _frames()
    frames.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on non-writable numpy arrays
        uploaded = FrameTransfer("cpu").upload(frames)
    assert torch.equal(uploaded, frames_to_tensor(frames.copy()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_round_trip_matches_the_cpu_and_overlaps() -> None:
    frames = _frames(16)
    transfer = FrameTransfer("cuda")
    assert transfer.overlaps
    pending = []
    for seed in range(3):  # several batches in flight on the side stream at once
        uploaded = transfer.upload(_frames(16, seed))
        assert uploaded.device.type == "cuda"
        assert torch.equal(uploaded.cpu(), frames_to_tensor(_frames(16, seed)))
        pending.append(transfer.download(uploaded * 1.0))
    for seed, frames_back in enumerate(pending):
        back = frames_back.result()
        assert back.flags.c_contiguous
        assert np.array_equal(back, _frames(16, seed))
    assert np.array_equal(transfer.download(frames_to_tensor(frames, "cuda")).result(), frames)
