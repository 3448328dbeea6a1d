"""How many feature maps the inference path holds at once: each map it keeps alive a
moment too long is a whole map more in the frame's peak (16 MB each in TPSMM's
inpainting decoder at vox-256), and the C heap keeps that peak for the rest of the job."""

from __future__ import annotations

import gc
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from animatecli.engine.animator import Animator
from animatecli.engine.blocks import ResBlock, instance_norm
from animatecli.engine.tpsmm.config import TpsmmConfig
from animatecli.engine.tpsmm.model import TpsmmModel


class _LiveStorages(TorchDispatchMode):
    """Tracks the bytes of the storages ops create while active, until each is freed."""

    def __init__(self, existing: set[int]) -> None:
        super().__init__()
        self.existing = existing
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _freed(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            key = storage.data_ptr()
            if key in self.existing or key in self.live or storage.nbytes() == 0:
                continue  # a view, an in-place result or an input
            self.live[key] = storage.nbytes()
            self.current += storage.nbytes()
            weakref.finalize(storage, self._freed, key)
            self.peak = max(self.peak, self.current)
        return out


def _existing_storages() -> set[int]:
    # Weights, scratch buffers and inputs: ops hand out views of them, which are no new
    # memory. Scanning every object is slow but exact.
    found = set()
    with warnings.catch_warnings():
        # isinstance() reads __class__, which a deprecated torch.distributed alias warns on.
        warnings.simplefilter("ignore", FutureWarning)
        for obj in gc.get_objects():
            if isinstance(obj, torch.Tensor) and not obj.is_meta:
                found.add(obj.untyped_storage().data_ptr())
    return found


def peak_new_bytes(run: Callable[[], Any]) -> tuple[int, Any]:
    """The largest total of storages created by ``run`` and alive at one time."""
    tracker = _LiveStorages(_existing_storages())
    with tracker:
        result = run()
    return tracker.peak, result


def test_res_block_holds_two_maps_besides_its_input() -> None:
    torch.manual_seed(0)
    block = ResBlock(8, instance_norm).eval()
    x = torch.rand(1, 8, 32, 32)
    map_bytes = x.numel() * x.element_size()
    with torch.inference_mode():
        peak, out = peak_new_bytes(lambda: block(x))
        # The textbook form, out of place: the same numbers, bit for bit.
        expected = x + block.conv2(torch.relu(block.norm2(block.conv1(torch.relu(block.norm1(x))))))
    assert torch.equal(out, expected)
    # norm1's output, then conv1's, then norm2's, then conv2's (the sum goes in place):
    # never more than two of them at a time (out of place, four were).
    assert peak <= 2 * map_bytes + 4096


def test_res_block_in_place_steps_keep_training_gradients() -> None:
    torch.manual_seed(0)
    block = ResBlock(4, instance_norm)
    x = torch.rand(2, 4, 8, 8, requires_grad=True)
    block(x).square().sum().backward()
    got = x.grad.clone()
    x.grad = None
    out = x + block.conv2(torch.relu(block.norm2(block.conv1(torch.relu(block.norm1(x))))))
    out.square().sum().backward()
    assert torch.allclose(got, x.grad, atol=1e-6)


def test_tpsmm_decoder_drops_each_map_once_used() -> None:
    torch.manual_seed(0)
    # The vox-256 networks as a job runs them: rewritten for inference, channels-last.
    model = Animator(TpsmmModel(TpsmmConfig()), channels_last=True).model
    source = torch.rand(1, 3, 256, 256).contiguous(memory_format=torch.channels_last)
    driving = torch.rand(1, 3, 256, 256).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        encoding = model.encode_source(source)
        kp_source, kp_driving = model.detect(source), model.detect(driving)
        motion = model.dense_motion_network(
            source, kp_driving, kp_source, source_down=encoding.image_down
        )
        decode = model.inpainting_network.decode
        decode(encoding, motion)  # the first call makes the scratch buffers it keeps
        peak, _ = peak_new_bytes(lambda: decode(encoding, motion))
    # The widest maps are 16 MiB (256 channels at 128², 64 at 256²). Decoding holds at
    # most three of them at once (a block's input, its current and its next map); with
    # the first block's input and the masked skips held through the next blocks, it held
    # six (97 MiB).
    assert peak <= 3 * 16 * 2**20 + 2 * 2**20
