"""Test footage built from skimage's astronaut photo: moving, zooming, noisy, rotated, wide.

Every clip is a few seconds at most and small, so a whole test file stays fast. Frames are
RGB uint8; `write_video` encodes them with the bundled ffmpeg (H.264 + a 440 Hz AAC tone).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from .faces_testutil import ASTRONAUT_FACE, make_canvas, place_astronaut

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# The astronaut's face box side at scale 1 (its height, the longer side), px.
FACE_SIDE = ASTRONAUT_FACE[3] - ASTRONAUT_FACE[1]


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: Fraction = Fraction(30),
    *,
    audio: bool = True,
    rotation: int | None = None,
) -> Path:
    """Encode RGB frames as H.264 (yuv420p) with a 440 Hz AAC tone as long as the video.

    ``rotation``: store the frames as they are but tag the stream with this display rotation
    (degrees, counter-clockwise), as phones do; players turn it upright.
    """
    h, w = frames[0].shape[:2]
    target = path.with_name(f".raw-{path.name}") if rotation is not None else path
    cmd = [
        FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
        "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "-",
    ]  # fmt: skip
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        cmd += ["-t", f"{float(len(frames) / fps):.6f}", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p"]
    cmd += [str(target)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    if rotation is not None:
        subprocess.run(
            [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y",
             "-display_rotation", str(rotation), "-i", str(target), "-c", "copy", str(path)],
            check=True,
        )  # fmt: skip
        target.unlink()
    return path


def scale_for(face_side: float) -> float:
    """The `place_astronaut` scale that makes her face ``face_side`` px tall."""
    return face_side / FACE_SIDE


def pan(
    n: int, size: tuple[int, int] = (360, 640), face: float = 150.0, seed: int = 3
) -> Iterator[np.ndarray]:
    """One face moving steadily from the left quarter to the right quarter of the frame."""
    h, w = size
    bg = make_canvas(h, w, "noise", seed=seed)
    for i in range(n):
        t = i / max(1, n - 1)
        yield place_astronaut(bg, scale_for(face), (w * (0.2 + 0.6 * t), h * 0.45))[0]


def zoom(n: int, size: tuple[int, int] = (360, 640), seed: int = 4) -> Iterator[np.ndarray]:
    """One face in the middle, growing from 110 to 170 px."""
    h, w = size
    bg = make_canvas(h, w, "noise", seed=seed)
    for i in range(n):
        t = i / max(1, n - 1)
        yield place_astronaut(bg, scale_for(110 + 60 * t), (w / 2, h * 0.45))[0]


def still_noisy(
    n: int, size: tuple[int, int] = (360, 640), face: float = 140.0, seed: int = 5
) -> Iterator[np.ndarray]:
    """A still face, as from a hand-held camera: the picture shakes by up to ±3 px on each
    axis, with fresh sensor noise and JPEG artefacts on every frame."""
    h, w = size
    bg = make_canvas(h, w, "noise", seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        dx, dy = rng.uniform(-3, 3, 2)
        frame, _ = place_astronaut(bg, scale_for(face), (w / 2 + dx, h / 2 + dy))
        noisy = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", noisy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 35])
        assert ok
        yield cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1].copy()


def two_faces(n: int, size: tuple[int, int] = (360, 640)) -> Iterator[np.ndarray]:
    """Two still astronauts side by side, 110 px faces."""
    h, w = size
    frame, _ = place_astronaut(make_canvas(h, w, "gray"), scale_for(110), (w * 0.27, h * 0.45))
    frame, _ = place_astronaut(frame, scale_for(110), (w * 0.73, h * 0.45))
    for _ in range(n):
        yield frame


def small_in_wide(n: int, face: float = 90.0) -> Iterator[np.ndarray]:
    """A 1920×1080 frame with one small face off-centre (a wide shot)."""
    frame, _ = place_astronaut(
        make_canvas(1080, 1920, "noise", seed=6), scale_for(face), (1400, 400)
    )
    for _ in range(n):
        yield frame


def write_vfr_flash(path: Path) -> Path:
    """A variable-rate phone-style clip: 2.5 s of a still face, 10 fps for the first second
    and 30 fps after; at exactly 1 s the picture brightens and a 1 kHz tone starts."""
    frames = list(still_noisy(75))
    for i in range(30, 75):
        frames[i] = np.clip(frames[i].astype(np.int16) + 60, 0, 255).astype(np.uint8)
    h, w = frames[0].shape[:2]
    cmd = [
        FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", "30", "-i", "-",
        "-f", "lavfi", "-i", "aevalsrc='if(gte(t,1),sin(2*PI*1000*t),0)':s=44100:d=2.5",
        # Keep every third frame of the first second only: timestamps 0, 0.1, ..., 1.0, 1.033...
        "-vf", "select='gte(t,1)+not(mod(n,3))'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        str(path),
    ]  # fmt: skip
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def flash_and_tone_seconds(
    path: Path, fps: float, crop: tuple[int, int] = (0, 0)
) -> tuple[float, float]:
    """When the picture brightens and when the tone starts in an encoded file, seconds.

    ``crop``: only columns ``crop[0]:crop[1]`` of each frame count (one panel of a strip);
    ``(0, 0)`` means the whole frame.
    """
    from animatecli.media import VideoReader

    with VideoReader(path) as reader:
        means = [float((f[:, crop[0] : crop[1]] if crop[1] else f).mean()) for f in reader]
    flash = (int(np.argmax(np.diff(means))) + 1) / fps
    pcm = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        capture_output=True,
        check=True,
    ).stdout
    loud = np.abs(np.frombuffer(pcm, np.int16).astype(np.float64)) > 3000
    return flash, float(np.argmax(loud)) / 8000


# The main face's tilt (degrees) in each frame of `tilting_with_distractor`: upright only at
# frame 9, which a detection stride of 6 (30 fps) does not examine.
TILTS = (12, -10, 8, -13, 9, -7, 11, -8, 6, 0, -6, 9, -11, 7, -9, 13, -10, 8, -12, 10, -7, 11)
DISTRACTOR_FRAMES = 14  # the second face leaves after this many frames
FACE_ONLY = (150, 30, 300, 200)  # a crop of the astronaut photo around her face


def tilting_with_distractor() -> list[np.ndarray]:
    """640×360 frames: a 130-px face panning right while tilting by `TILTS`, and, for the
    first `DISTRACTOR_FRAMES` frames, a second, larger face on the left that stays upright.

    The distractor matches an upright source in every frame it is in, so a search that
    looked at any face but the main track's (the one detected longest) would pick it.
    """
    bg = make_canvas(360, 640, "noise", seed=21)
    frames = []
    for i, tilt in enumerate(TILTS):
        centre = (400.0 + 3.0 * i, 190.0)
        frame, _ = place_astronaut(bg, scale_for(130), centre, FACE_ONLY)
        turn = cv2.getRotationMatrix2D(centre, float(tilt), 1.0)
        frame = cv2.warpAffine(frame, turn, (640, 360), borderMode=cv2.BORDER_REFLECT)
        if i < DISTRACTOR_FRAMES:
            frame, _ = place_astronaut(frame, scale_for(150), (140.0, 170.0), FACE_ONLY)
        frames.append(frame)
    return frames


def face_among_textures(n: int, seed: int = 5) -> Iterator[np.ndarray]:
    """640×360 frames: skimage's coffee, chelsea (a cat) and rocket photos side by side, the
    astronaut's 120-px face in the middle, all drifting slowly, with sensor noise and JPEG
    artefacts (quality 40): textures and a cat face for a detector to mistake for faces."""
    from skimage import data

    tiles = [cv2.resize(img, (220, 360), interpolation=cv2.INTER_AREA) for img in
             (data.coffee(), data.chelsea(), data.rocket())]  # fmt: skip
    wide = np.concatenate([tiles[0], tiles[1], tiles[2], tiles[0]], axis=1)  # 880 px
    rng = np.random.default_rng(seed)
    for i in range(n):
        frame = np.ascontiguousarray(wide[:, 2 * i : 2 * i + 640])
        frame, _ = place_astronaut(frame, scale_for(120), (330.0 + i, 180.0), FACE_ONLY)
        noisy = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
        _, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 40])
        yield cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
