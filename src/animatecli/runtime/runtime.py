"""The model runtime: what one process loads once and every job it runs shares."""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import torch

from .. import media
from ..engine import Animator, FrameTransfer, MotionMode, family_named
from ..memory import large_blocks_mapped
from ..models import catalogue_entry_of, is_bundled, load_model
from ..options import AnimateOptions, ModelOptions
from ..threads import ThreadShare, thread_budget
from ..upscale_options import ResolvedUpscaler

if TYPE_CHECKING:
    from ..engine.upscale import Upscaler


class Runtime:
    """The loaded model on its device and precision, the process's CPU threads and the
    driving decoder. Holds no job state: a job (`runtime.job.AnimationJob`) brings its own options,
    reporter, notices and face detectors, so one runtime serves any number of jobs."""

    def __init__(self, model_options: ModelOptions):
        self.model_options = model_options
        # Threads first: this process's share of the CPUs, re-balanced per batch as other
        # animate processes start and end; ffmpeg's decoder and encoder counted in.
        budget = thread_budget(model_options.threads)
        self.threads = ThreadShare(budget, torch.set_num_threads)
        media.set_codec_threads(budget.codec)
        self.loaded, self.device, self.checkpoint_origin = load_model(model_options)
        # A fetched catalogue model (``--checkpoint fomm-vox``): its name and domain.
        self.catalogue_entry = catalogue_entry_of(self.loaded.path)
        # The bundled cartoon model: a real face gets a notice (`real_face`).
        self.bundled = is_bundled(self.loaded.path)
        # On CUDA the driving video decodes on the GPU's NVDEC engine where that works.
        self.decoder = media.choose_decoder(str(self.device))
        self.transfer = FrameTransfer(self.device)
        self.animator = Animator(
            self.loaded.model,
            device=self.device,
            precision="fp16" if model_options.fp16 else "fp32",
            # Channels-last weights: ~15% faster on CPU (make bench), same numbers within
            # float32 rounding.
            channels_last=True,
            # The generator's large maps in their own mappings, not the heap, where their
            # holes made TPSMM's peak vary by 90 MiB between runs (`memory`).
            generation_scope=large_blocks_mapped if self.device.type == "cpu" else nullcontext,
        )
        # Real-ESRGAN upscalers by (files, scale): loaded on the first job asking for one
        # and reused by every later job of this runtime (a server, a batch).
        self._upscalers: dict[tuple[tuple[str, ...], int], Upscaler] = {}

    def upscaler(self, resolved: ResolvedUpscaler) -> Upscaler:
        """The loaded upscaler of ``resolved`` on this runtime's device (float16 on CUDA)."""
        key = (tuple(str(path) for path in resolved.files), resolved.scale)
        if key not in self._upscalers:
            from ..upscaling import load_upscaler

            self._upscalers[key] = load_upscaler(resolved, device=str(self.device))
        return self._upscalers[key]

    @property
    def decoder_name(self) -> str:
        """The driving video's decoder: ``nvdec`` or ``software``."""
        return "nvdec" if self.decoder.hardware else "software"

    @property
    def face_model(self) -> bool:
        """Whether the model animates faces (anything not known to be a body/object model)."""
        if self.catalogue_entry is not None:
            return self.catalogue_entry.domain == "face"
        return family_named(self.loaded.family).domain_of(self.loaded.config_name) == "face"

    @property
    def frame_hw(self) -> tuple[int, int]:
        """The model's frame shape (height, width)."""
        return self.animator.frame_shape

    def describe_checkpoint(self) -> dict[str, Any]:
        entry = self.catalogue_entry
        return {
            **self.loaded.describe(),
            "origin": self.checkpoint_origin,
            "catalogue": None if entry is None else {"name": entry.name, "domain": entry.domain},
        }

    def check(self, options: AnimateOptions) -> None:
        """Refuse options the loaded model cannot honour (``--mode avd`` without an AVD
        network) before any work is done."""
        self.animator.model.check_mode(MotionMode(options.mode))

    def batch_size(self, options: AnimateOptions | None = None) -> int:
        """Frames per model call: ``--batch-size``, else 1 on CPU and 8 on CUDA."""
        if options is not None and options.batch_size:
            return options.batch_size
        return 8 if self.device.type == "cuda" else 1
