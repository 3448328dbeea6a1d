"""The README's upscaling pictures, made by ``animate`` itself, into docs/:

- upscale-off.png and upscale-4.png: one ``--paste-back`` frame of scikit-image's
  astronaut photo (public domain) animated by the bundled example video with the bundled
  model, without and with ``--upscale 4``, cropped to the face at full size (no resize
  after the tool: the photo's own pixels around the pasted face).

The 512×512 photo is first enlarged 2× (Lanczos) so that its face box spans about 300
pixels, as a face in a phone portrait does: the bundled model's 128×128 square is then
stretched 2.3× without the upscaler, which is the softness ``--upscale`` removes.

``--upscaler`` defaults to ``photo`` (x4plus); ``--upscaler animevideo`` is the fast one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
from skimage import data

from animatecli import media

ROOT = Path(__file__).resolve().parents[1]
ENLARGE = 2
# The astronaut's head in the enlarged photo (x0, y0, x1, y1).
SHOWN = (300, 40, 740, 520)


def run_animate(*args: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "animatecli", *map(str, args), "-y", "-q"], check=True)


def one_frame_clip(target: Path) -> None:
    """The example video's first frame as a one-frame clip (one frame is all we show)."""
    with media.VideoReader(ROOT / "examples" / "driving.mp4", stop=1) as reader:
        first = next(reader)
    with media.open_sink(target, first.shape[1], first.shape[0], Fraction(25)) as sink:
        sink.write(first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upscaler", default="photo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, driving = Path(tmp) / "astronaut.png", Path(tmp) / "one.mp4"
        photo = data.astronaut()
        side = photo.shape[0] * ENLARGE
        photo = cv2.resize(photo, (side, side), interpolation=cv2.INTER_LANCZOS4)
        cv2.imwrite(str(source), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        one_frame_clip(driving)
        x0, y0, x1, y1 = SHOWN
        for name, extra in (("off", []), ("4", ["--upscale", "4", "--upscaler", args.upscaler])):
            frames = Path(tmp) / f"frames_{name}"
            started = time.perf_counter()
            run_animate(source, driving, "-o", f"{frames}/", "--paste-back", *extra)
            seconds = time.perf_counter() - started
            frame = cv2.imread(str(frames / "frame_000000.png"))
            target = ROOT / "docs" / f"upscale-{name}.png"
            cv2.imwrite(str(target), frame[y0:y1, x0:x1])
            print(f"wrote {target} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
