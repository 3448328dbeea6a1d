"""Generate examples/source.png and examples/driving.mp4 (with a speech-like audio track)
from the held-out split of the procedural talking heads. Nothing is downloaded."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import wave
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from animatecli.training.synthetic import HELDOUT_SEEDS, make_speech_audio, make_video

ROOT = Path(__file__).resolve().parents[1]
SOURCE_SEED = HELDOUT_SEEDS[0] + 7
DRIVING_SEED = HELDOUT_SEEDS[0] + 3
FPS = 25
SAMPLE_RATE = 44100


def write_source(path: Path, size: int) -> None:
    frame = next(make_video(SOURCE_SEED, 1, size=size))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def write_driving(path: Path, frames: int, size: int) -> None:
    """H.264 video at 25 fps with an AAC track that follows the mouth."""
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = make_speech_audio(DRIVING_SEED, frames, FPS, SAMPLE_RATE)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        with wave.open(str(wav), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(SAMPLE_RATE)
            handle.writeframes(audio.astype("<i2").tobytes())
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size}x{size}", "-r", str(FPS),
            "-i", "-", "-i", str(wav),
            "-map", "0:v:0", "-map", "1:a:0",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-preset", "medium",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart",
            str(path),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert process.stdin is not None
        for frame in make_video(DRIVING_SEED, frames, size=size):
            process.stdin.write(np.ascontiguousarray(frame).tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise SystemExit(f"ffmpeg failed writing {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=125)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--source", type=Path, default=ROOT / "examples" / "source.png")
    parser.add_argument("--driving", type=Path, default=ROOT / "examples" / "driving.mp4")
    parser.add_argument("--driving-only", action="store_true")
    args = parser.parse_args()
    if not args.driving_only:
        write_source(args.source, args.size)
    write_driving(args.driving, args.frames, args.size)
    print(f"wrote {args.driving}" + ("" if args.driving_only else f" and {args.source}"))


if __name__ == "__main__":
    main()
