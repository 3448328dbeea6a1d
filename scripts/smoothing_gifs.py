"""The README's ``--smooth`` pictures, made by ``animate`` itself: a jittery driving video
of scikit-image's astronaut (``animatecli.training.jitter``) animating its first frame,
``--compare`` with ``--smooth off`` and ``--smooth auto``, into docs/."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import cv2
from skimage import data

from animatecli.media import open_sink
from animatecli.training.jitter import ASTRONAUT_FACE, jittered_face_video

ROOT = Path(__file__).resolve().parents[1]
# The end of the first still stretch, the first pan and the start of the next still one:
# a GIF of the whole video would weigh megabytes (jitter changes every pixel every frame).
SHOWN = slice(20, 44)


def main() -> None:
    video = jittered_face_video(data.astronaut(), ASTRONAUT_FACE, size=128, fps=25.0)
    with tempfile.TemporaryDirectory() as tmp:
        source, driving = Path(tmp) / "astronaut.png", Path(tmp) / "jittery.mp4"
        cv2.imwrite(str(source), cv2.cvtColor(video.jittered[SHOWN][0], cv2.COLOR_RGB2BGR))
        with open_sink(driving, 128, 128, Fraction(25), crf=12, preset="medium") as sink:
            for frame in video.jittered[SHOWN]:
                sink.write(frame)
        for smooth in ("off", "auto"):
            target = ROOT / "docs" / f"smooth-{smooth}.gif"
            subprocess.run(
                [sys.executable, "-m", "animatecli", str(source), str(driving), "-o", str(target),
                 "--compare", "--smooth", smooth, "--crop-source", "off", "--crop-driving", "off",
                 "--align", "first", "-y", "-q"],
                check=True,
            )  # fmt: skip
            print(f"{target.relative_to(ROOT)}: {target.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
