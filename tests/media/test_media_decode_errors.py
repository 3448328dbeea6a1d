"""Issue 28 item 17 (media half): a driving video with damaged middle bytes decodes to
every frame, and the reader says how many errors ffmpeg concealed on the way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from testutil import pattern_clip

from animatecli.media import VideoReader


def test_damaged_middle_bytes_are_counted_not_hidden(tmp_path: Path) -> None:
    clean = pattern_clip(tmp_path / "clean.mp4")
    data = bytearray(clean.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = (
        np.random.default_rng(1).integers(0, 256, 3000).astype(np.uint8).tobytes()
    )
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))

    counts = {}
    for path in (clean, damaged):
        with VideoReader(path) as reader:
            frames = sum(1 for _ in reader)
        assert frames == 100  # damage concealed: every frame still comes out
        counts[path.name] = reader.decode_errors
    assert counts["clean.mp4"] == 0
    assert counts["damaged.mp4"] >= 10  # ffmpeg logs one line per damaged slice or more
