"""The README's ``--smooth`` and ``--faces`` pictures, made by ``animate`` itself, into docs/:

- smooth-off.gif, smooth-auto.gif: a jittery driving video of scikit-image's astronaut
  (``animatecli.training.jitter``) animating its first frame, ``--compare``;
- group.gif: a photo of two astronauts (one mirrored) animated by the bundled example
  video with ``--faces all``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from animatecli import media
from animatecli.training.jitter import ASTRONAUT_FACE, jittered_face_video

ROOT = Path(__file__).resolve().parents[1]
# The end of the first still stretch, the first pan and the start of the next still one:
# a GIF of the whole video would weigh megabytes (jitter changes every pixel every frame).
SHOWN = slice(20, 44)
GROUP_FRAMES = 30


def run_animate(*args: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "animatecli", *map(str, args), "-y", "-q"], check=True)


def group_gif(tmp: Path) -> Path:
    """Two astronauts side by side on a grey wall, the second mirrored, animated together."""
    photo = data.astronaut()[0:300, 90:370]
    canvas = np.full((300, 560, 3), 120, np.uint8)
    canvas[:, :280] = photo
    canvas[:, 280:] = photo[:, ::-1]
    small = cv2.resize(canvas, (392, 210), interpolation=cv2.INTER_AREA)
    source = tmp / "two.png"
    cv2.imwrite(str(source), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    driving = tmp / "talk.mp4"
    with media.VideoReader(ROOT / "examples" / "driving.mp4", stop=GROUP_FRAMES) as reader:
        first = next(reader)
        with media.open_sink(driving, first.shape[1], first.shape[0], Fraction(25)) as sink:
            sink.write(first)
            for frame in reader:
                sink.write(frame)
    target = ROOT / "docs" / "group.gif"
    run_animate(source, driving, "-o", target, "--faces", "all")
    return target


def main() -> None:
    video = jittered_face_video(data.astronaut(), ASTRONAUT_FACE, size=128, fps=25.0)
    with tempfile.TemporaryDirectory() as tmp:
        source, driving = Path(tmp) / "astronaut.png", Path(tmp) / "jittery.mp4"
        cv2.imwrite(str(source), cv2.cvtColor(video.jittered[SHOWN][0], cv2.COLOR_RGB2BGR))
        with media.open_sink(driving, 128, 128, Fraction(25), crf=12, preset="medium") as sink:
            for frame in video.jittered[SHOWN]:
                sink.write(frame)
        for smooth in ("off", "auto"):
            target = ROOT / "docs" / f"smooth-{smooth}.gif"
            options = [
                "--compare",
                "--smooth",
                smooth,
                "--crop-source",
                "off",
                "--crop-driving",
                "off",
            ]
            run_animate(source, driving, "-o", target, *options, "--align", "first")
            print(f"{target.relative_to(ROOT)}: {target.stat().st_size / 1024:.0f} KiB")
        target = group_gif(Path(tmp))
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
