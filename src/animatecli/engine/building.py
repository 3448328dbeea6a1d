"""Building networks that a checkpoint is about to fill, without initialising them, and
laying their weights out channels-last without a second copy.

A network built the usual way fills every parameter with random numbers, which then
live next to the checkpoint's tensors until the load replaces them: two copies of the
weights at the peak. Under :func:`uninitialised` the parameters are allocated but
``torch.nn.init``'s fills are skipped, so their pages are never touched (the kernel
hands out memory lazily: an untouched allocation costs nothing) and the load's
``assign=True`` makes the parameters *be* the checkpoint's tensors.

The meta device would also skip the fills, but some constructors compute buffers with
ops it has no native kernel for (the anti-alias kernel's ``arange``), and their Python
fallbacks import ``torch._dynamo``: about 2 s and 70 MiB that stay for the whole job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode


class _SkipInitFills(TorchFunctionMode):
    """Returns ``torch.nn.init``'s target tensor as it is; every other call runs."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == torch.nn.init.__name__:
            # The tensor to fill is the first argument (``tensor=`` when by keyword).
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


@contextmanager
def uninitialised() -> Iterator[None]:
    """Build modules whose parameters stay unfilled (uninitialised memory) until a state
    dict is loaded into them with ``strict=True``, which replaces every one of them.

    Only the fills of ``torch.nn.init`` are skipped (the random and constant ones that
    check for overrides: ``uniform_``, ``normal_``, ``constant_``, ``kaiming_uniform_``,
    what convolutions and linear layers use); whatever a constructor computes itself,
    such as a buffer's kernel or grid, is computed as usual.
    """
    with _SkipInitFills():
        yield


def channels_last_in_place(model: nn.Module, chunk_bytes: int = 4 << 20) -> None:
    """``model.to(memory_format=torch.channels_last)`` inside the weights' own storage.

    ``Module.to`` allocates a channels-last copy of every 4-D weight and frees the
    original: for a vox-256 FOMM that left some 150 MiB of holes in the C heap, under
    the copies, which the process kept as resident memory for the rest of the job. Here
    each kernel's ``I×kh×kw`` block of an output channel is transposed to ``kh×kw×I``
    where it lies, a few output channels at a time through a scratch of at most
    ``chunk_bytes``, and the parameter becomes a channels-last view of the same memory.
    Tensors in any other layout (a view, or already channels-last) go through
    ``Tensor.contiguous`` as usual.
    """
    with torch.no_grad():
        for module in model.modules():
            for tensors in (module._parameters, module._buffers):
                for tensor in tensors.values():
                    if tensor is None or tensor.ndim != 4:
                        continue
                    if tensor.is_contiguous(memory_format=torch.channels_last):
                        continue
                    if not tensor.is_contiguous():
                        tensor.data = tensor.contiguous(memory_format=torch.channels_last)
                        continue
                    out_channels, in_channels, height, width = tensor.shape
                    per_channel = in_channels * height * width
                    flat = tensor.view(out_channels, in_channels, height * width)
                    step = max(1, chunk_bytes // (per_channel * tensor.element_size()))
                    for start in range(0, out_channels, step):
                        block = flat[start : start + step]
                        block.view(-1).copy_(block.transpose(1, 2).contiguous().view(-1))
                    strides = (per_channel, 1, width * in_channels, in_channels)
                    tensor.data = tensor.as_strided(tensor.shape, strides)
