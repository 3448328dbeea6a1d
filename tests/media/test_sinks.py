"""Atomic output sinks (animatecli.media.sinks), checked by decoding what they wrote."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from testutil import FFMPEG, Samples

from animatecli.errors import InputError, MediaError, OutputError
from animatecli.interrupts import recording_interrupts
from animatecli.media import (
    FrameSink,
    GifSink,
    OutputKind,
    PngDirSink,
    VideoFileSink,
    VideoReader,
    check_output_path,
    has_audio,
    load_image,
    open_sink,
    probe_audio_codec,
    probe_streams,
    probe_video,
)


def _frames(path: Path, stop: int | None = None) -> list[np.ndarray]:
    with VideoReader(path, stop=stop) as reader:
        return list(reader)


def _random_frames(n: int, h: int = 48, w: int = 64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# -- video files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v25", "v30_audio", "ntsc_audio"])
def test_mp4_keeps_frame_count_and_exact_fps(samples: Samples, tmp_path: Path, name: str) -> None:
    source = getattr(samples, name)
    info = probe_video(source)
    frames = _frames(source)
    out = tmp_path / "out.mp4"
    with open_sink(out, info.width, info.height, info.fps, preset="ultrafast") as sink:
        for frame in frames:
            sink.write(frame)
    result = probe_video(out)
    assert result.fps == info.fps
    assert (result.width, result.height) == (info.width, info.height)
    (video,) = probe_streams(out)
    assert video.frames == len(frames) == sink.frames_written
    assert sink.audio_kept is False
    # Quality sanity: crf 18 stays close to the decoded source frames.
    decoded = _frames(out)
    assert np.abs(decoded[3].astype(int) - frames[3].astype(int)).mean() < 6


@pytest.mark.parametrize(
    ("source_name", "ext", "audio_codec"),
    [
        ("ntsc_audio", ".mp4", "aac"),  # AAC into MP4: stream copy
        ("v30_audio", ".mov", "aac"),
        ("film_opus", ".mkv", "opus"),  # Matroska takes the Opus stream as is
        ("ntsc_audio", ".webm", "opus"),  # AAC is not allowed in WebM: re-encoded to Opus
        ("film_opus", ".mp4", "aac"),  # Opus into MP4: re-encoded to AAC
    ],
)
def test_audio_is_muxed_and_cut_to_the_video(
    samples: Samples, tmp_path: Path, source_name: str, ext: str, audio_codec: str
) -> None:
    source = getattr(samples, source_name)
    info = probe_video(source)
    frames = _frames(source, stop=12)  # well short of the 1 s of audio
    out = tmp_path / f"out{ext}"
    with open_sink(
        out, info.width, info.height, info.fps, preset="ultrafast", audio_from=source
    ) as sink:
        assert isinstance(sink, VideoFileSink) and sink.will_mux_audio
        for frame in frames:
            sink.write(frame)
    assert sink.audio_kept
    video, audio = probe_streams(out)
    assert video.frames == 12
    assert probe_video(out).fps == info.fps
    assert audio.codec == audio_codec
    frame_time = float(1 / info.fps)
    assert abs(audio.duration - 12 * frame_time) < frame_time
    assert _leftovers(tmp_path, {out.name}) == []


def test_audio_can_come_from_an_audio_only_file(samples: Samples, tmp_path: Path) -> None:
    assert has_audio(samples.audio_only) and not has_audio(samples.v25)
    assert probe_audio_codec(samples.film_opus) == "opus"
    out = tmp_path / "dub.mkv"
    with VideoFileSink(out, 96, 64, 25, preset="ultrafast", audio_from=samples.audio_only) as s:
        for frame in _frames(samples.v25, stop=10):
            s.write(frame)
    assert s.audio_kept
    video, audio = probe_streams(out)
    assert video.frames == 10 and abs(audio.duration - 0.4) < 0.04
    with pytest.raises(InputError, match=r"notes\.mp4"):
        VideoFileSink(tmp_path / "x.mp4", 96, 64, 25, audio_from=samples.text_as_mp4)
    assert _leftovers(tmp_path, {out.name}) == []


def test_source_without_audio_gives_silent_output(samples: Samples, tmp_path: Path) -> None:
    out = tmp_path / "silent.mp4"
    with open_sink(out, 96, 64, Fraction(25), preset="ultrafast", audio_from=samples.v25) as sink:
        for frame in _frames(samples.v25, stop=5):
            sink.write(frame)
    assert sink.audio_kept is False
    assert not probe_video(out).has_audio


def test_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    frames = _random_frames(3, h=33, w=45)
    out = tmp_path / "odd.mp4"
    with VideoFileSink(out, 45, 33, Fraction(30), preset="ultrafast") as sink:
        assert (sink.output_width, sink.output_height) == (46, 34)
        for frame in frames:
            sink.write(frame)
    info = probe_video(out)
    assert (info.width, info.height) == (46, 34)
    assert probe_streams(out)[0].frames == 3


def test_wrong_frame_shape_is_a_value_error(tmp_path: Path) -> None:
    with VideoFileSink(tmp_path / "x.mp4", 64, 48, 25, preset="ultrafast") as sink:
        sink.write(_random_frames(1)[0])
        with pytest.raises(ValueError, match="48×64×3 uint8"):
            sink.write(np.zeros((48, 64), np.uint8))
        sink.write(_random_frames(1)[0])
    assert probe_streams(tmp_path / "x.mp4")[0].frames == 2


def test_output_file_respects_umask(tmp_path: Path) -> None:
    out = tmp_path / "perm.mp4"
    with VideoFileSink(out, 64, 48, 25, preset="ultrafast") as sink:
        sink.write(_random_frames(1)[0])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


# -- atomicity -------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["out.mp4", "out.webm", "out.gif", "frames/"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_leaves_no_trace(
    tmp_path: Path, target: str, error: type[BaseException]
) -> None:
    with pytest.raises(error), open_sink(f"{tmp_path}/{target}", 64, 48, 25) as sink:
        for frame in _random_frames(3):
            sink.write(frame)
        raise error("stop")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["out.mp4", "out.gif", "frames/"])
def test_a_swallowed_ctrl_c_still_stops_the_output(tmp_path: Path, target: str) -> None:
    with recording_interrupts():
        with contextlib.suppress(KeyboardInterrupt):  # lost, as in a finaliser
            signal.raise_signal(signal.SIGINT)
        with (
            pytest.raises(KeyboardInterrupt),
            open_sink(f"{tmp_path}/{target}", 64, 48, 25) as sink,
        ):
            for frame in _random_frames(3):
                sink.write(frame)
    assert list(tmp_path.iterdir()) == []
    # Outside the CLI's run the record is gone: outputs commit again.
    with open_sink(f"{tmp_path}/{target}", 64, 48, 25) as sink:
        sink.write(_random_frames(1)[0])
    assert (tmp_path / target).exists()


def test_abort_and_empty_close_leave_no_trace(tmp_path: Path) -> None:
    sink = open_sink(tmp_path / "a.mp4", 64, 48, 25)
    sink.write(_random_frames(1)[0])
    sink.abort()
    sink.abort()  # idempotent
    for target in ("b.mp4", "b.gif", "b/"):
        with (
            pytest.raises(MediaError, match="no frames"),
            open_sink(f"{tmp_path}/{target}", 64, 48, 25),
        ):
            pass
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    with pytest.raises(OutputError, match="exists; pass --overwrite") as info:
        open_sink(out, 64, 48, 25)
    assert "out.mp4" in str(info.value)
    assert out.read_bytes() == b"old"
    with open_sink(out, 64, 48, 25, preset="ultrafast", overwrite=True) as sink:
        sink.write(_random_frames(1)[0])
    assert probe_streams(out)[0].frames == 1
    assert _leftovers(tmp_path, {"out.mp4"}) == []


# -- output path checks ----------------------------------------------------------------


def test_check_output_path_kinds(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "a.MP4") is OutputKind.VIDEO
    assert check_output_path(tmp_path / "a.webm") is OutputKind.VIDEO
    assert check_output_path(tmp_path / "a.gif") is OutputKind.GIF
    assert check_output_path(f"{tmp_path}/frames/") is OutputKind.PNG_DIR
    assert check_output_path(tmp_path) is OutputKind.PNG_DIR  # existing, empty folder
    with pytest.raises(InputError, match="has no extension"):  # a video or a folder? ask
        check_output_path(tmp_path / "frames")
    with pytest.raises(InputError, match=r"unsupported extension '\.avi'") as info:
        check_output_path(tmp_path / "a.avi")
    assert not isinstance(info.value, OutputError) and "a.avi" in str(info.value)


def test_check_output_path_parent_problems(tmp_path: Path) -> None:
    # Tests run as root, which permission bits do not stop, so an unwritable parent is
    # simulated by a parent that is a regular file.
    regular = tmp_path / "somefile.txt"
    regular.write_text("x")
    for path, fragment in (
        (tmp_path / "missing" / "out.mp4", "does not exist"),
        (regular / "out.mp4", "is not a folder"),
    ):
        with pytest.raises(OutputError, match=fragment) as info:
            check_output_path(path)
        assert "out.mp4" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output_path(f"{regular}/", overwrite=True)
    (tmp_path / "video.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_output_path(tmp_path / "video.mp4", overwrite=True)


# -- GIF and PNG folders ---------------------------------------------------------------


def test_gif_keeps_every_frame(samples: Samples, tmp_path: Path) -> None:
    frames = _frames(samples.ntsc_audio)
    out = tmp_path / "anim.gif"
    with GifSink(out, Fraction(30000, 1001)) as sink:
        for frame in frames:
            sink.write(frame)
    with Image.open(out) as gif:
        assert gif.n_frames == len(frames) == 30
        assert gif.size == (96, 64)
        assert gif.info.get("loop") == 0
    assert probe_streams(out)[0].frames == 30
    assert sink.audio_kept is False
    # A 256-colour palette with dithering stays close to the source.
    decoded = _frames(out, stop=4)
    assert np.abs(decoded[3].astype(int) - frames[3].astype(int)).mean() < 12
    assert _leftovers(tmp_path, {out.name}) == []


def test_png_folder_is_lossless(tmp_path: Path) -> None:
    frames = _random_frames(4)
    target = tmp_path / "frames"
    with open_sink(f"{target}/", 64, 48, 25) as sink:
        assert isinstance(sink, PngDirSink) and isinstance(sink, FrameSink)
        for frame in frames:
            sink.write(frame)
    names = sorted(p.name for p in target.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(4)]
    for name, frame in zip(names, frames, strict=True):
        np.testing.assert_array_equal(load_image(target / name), frame)
    assert _leftovers(tmp_path, {"frames"}) == []


def test_png_folder_overwrite_rules(tmp_path: Path) -> None:
    target = tmp_path / "frames"
    with PngDirSink(target) as sink:
        for frame in _random_frames(3, seed=1):
            sink.write(frame)
    with pytest.raises(OutputError, match="not empty; pass --overwrite"):
        open_sink(f"{target}/", 64, 48, 25)
    new = _random_frames(2, seed=2)
    with open_sink(target, 64, 48, 25, overwrite=True) as sink:  # existing folder
        for frame in new:
            sink.write(frame)
    assert sorted(p.name for p in target.iterdir()) == ["frame_000000.png", "frame_000001.png"]
    np.testing.assert_array_equal(load_image(target / "frame_000001.png"), new[1])
    assert _leftovers(tmp_path, {"frames"}) == []
    # --overwrite never wipes a folder holding anything else.
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="other than frame_"):
        open_sink(f"{target}/", 64, 48, 25, overwrite=True)


def _audio_start(path: Path) -> float:
    """The audio stream's start time as `ffmpeg -i` lists it (0 when it lists none)."""
    listing = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    line = next(line for line in listing.splitlines() if "Audio:" in line)
    found = re.search(r"start (-?[\d.]+)", line)
    return float(found.group(1)) if found else 0.0


def test_audio_that_starts_late_keeps_its_offset(samples: Samples, tmp_path: Path) -> None:
    late = samples.late_audio
    info = probe_video(late)
    out = tmp_path / "out.mp4"
    with open_sink(out, info.width, info.height, info.fps, audio_from=late) as sink:
        for frame in _frames(late):
            sink.write(frame)
    assert sink.audio_kept
    assert _audio_start(late) > 0.15
    assert abs(_audio_start(out) - _audio_start(late)) < float(1 / info.fps)
