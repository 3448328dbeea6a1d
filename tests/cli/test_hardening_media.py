"""The media half of issue 28 through ``animate`` itself: file names ffmpeg would read as
protocols (item 8), image bombs under Pillow's limit (item 6), 32-bit integer TIFFs
(item 16)."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from testutil import Samples, ffmpeg

from animatecli.media import count_frames

from .cli_testutil import assert_one_line_error, finish, snapshot, start, write_face

# Names ffmpeg reads as protocols, not files: each a real file here, a copy of the 1 s clip.
PROTOCOL_NAMES = [
    "concat:a.mp4|b.mp4",
    "file:a.mp4",
    "subfile,,start,0,end,0,,:a.mp4",
    "pipe:0.mp4",
    "data:video.mp4",
]


@pytest.fixture
def work(tmp_path: Path, samples: Samples) -> Path:
    """face.png, the 1 s 25 fps clip, and a.mp4 and b.mp4: 2 s clips of another size that a
    protocol name would open instead."""
    write_face(tmp_path / "face.png")
    for name in ("a.mp4", "b.mp4"):
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25:duration=2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(tmp_path / name),
        )  # fmt: skip
    shutil.copy(samples.v25, tmp_path / "clip.mp4")
    return tmp_path


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_a_driving_video_named_like_a_protocol_is_read_as_that_file(
    work: Path, tiny_checkpoint: Path, name: str
) -> None:
    """Item 8: the video animated is the file the user named, nothing else."""
    shutil.copy(work / "clip.mp4", work / name)
    proc = finish(start(("face.png", name, "-o", "out.mp4", "-q"), work, tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert count_frames(work / "out.mp4") == 25  # the 1 s clip, not 2 s or 4 s of a/b


def test_an_output_named_like_a_protocol_is_that_file(work: Path, tiny_checkpoint: Path) -> None:
    """Item 8, outputs: ffmpeg writes the named file."""
    proc = finish(
        start(("face.png", "clip.mp4", "-o", "file:out.mp4", "-q"), work, tiny_checkpoint)
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "file:out.mp4").is_file()
    assert not (work / "out.mp4").exists()
    assert count_frames(work / "file:out.mp4") == 25


def deep_png(path: Path, width: int, height: int) -> None:
    """A 16-bit RGB PNG of black rows, compressed row by row (never whole in memory)."""
    row = b"\x00" + bytes(width * 6)  # filter type 0, then 3 channels × 2 bytes
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_an_image_bomb_under_pillows_limit_is_refused_before_decoding(
    work: Path, tiny_checkpoint: Path
) -> None:
    """Item 6: a 16-bit 12000×12000 PNG of under a megabyte: one line, exit 2, at once."""
    bomb = work / "bomb.png"
    deep_png(bomb, 12000, 12000)
    assert bomb.stat().st_size < 1_000_000
    before = snapshot(work)
    proc = finish(start(("bomb.png", "clip.mp4", "-o", "out.mp4"), work, tiny_checkpoint))
    assert_one_line_error(
        proc,
        2,
        r"^error: image \S*bomb.png is too large to load safely: 12000×12000 pixels at 16 bits "
        r"per sample need 824 MB to decode, more than the 256 MB allowed$",
    )
    assert snapshot(work) == before


def test_a_32_bit_integer_tiff_with_8_bit_values_is_not_black(
    work: Path, tiny_checkpoint: Path
) -> None:
    """Item 16: the source panel of --compare shows the picture at its own brightness."""
    gray = np.full((96, 96), 200, dtype=np.int32)
    gray[:, :48] = 100
    Image.fromarray(gray).save(work / "deep.tif")
    assert Image.open(work / "deep.tif").mode == "I"
    proc = finish(
        start(("deep.tif", "clip.mp4", "-o", "out.mp4", "--compare", "-q"), work, tiny_checkpoint)
    )
    assert proc.returncode == 0, proc.stderr
    capture = cv2.VideoCapture(str(work / "out.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok
    panel = frame[:, : frame.shape[1] // 3].astype(np.float64)
    # Left half 100, right half 200 (the fitted picture fills the panel).
    width = panel.shape[1]
    assert abs(panel[:, : width // 2 - 4].mean() - 100) < 8
    assert abs(panel[:, width // 2 + 4 :].mean() - 200) < 8
