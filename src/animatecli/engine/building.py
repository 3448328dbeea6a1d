"""Building networks that a checkpoint is about to fill, without initialising them.

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
