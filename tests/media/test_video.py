"""Video probing and streaming decode (animatecli.media.video), on real ffmpeg output."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from testutil import Samples

from animatecli.errors import InputError, MediaError
from animatecli.media import (
    VideoReader,
    count_frames,
    probe_streams,
    probe_video,
    snap_fps,
)


@pytest.mark.parametrize(
    ("name", "fps", "size"),
    [
        ("v25", Fraction(25), (64, 96)),
        ("v30_audio", Fraction(30), (60, 80)),
        ("ntsc_audio", Fraction(30000, 1001), (64, 96)),
        ("film_opus", Fraction(24000, 1001), (64, 64)),
    ],
)
def test_probe_reports_exact_fps_and_size(
    samples: Samples, name: str, fps: Fraction, size: tuple[int, int]
) -> None:
    info = probe_video(getattr(samples, name))
    assert info.fps == fps and isinstance(info.fps, Fraction)
    assert info.size == size
    assert info.duration is not None and abs(info.duration - 1.0) < 0.05
    assert info.frame_count_estimate is not None
    assert abs(info.frame_count_estimate - round(float(fps))) <= 1
    assert info.frame_count_hint == info.frame_count_estimate


def test_probe_reports_audio_and_codecs(samples: Samples) -> None:
    silent = probe_video(samples.v25)
    assert (silent.has_audio, silent.audio_codec, silent.video_codec) == (False, None, "h264")
    mov = probe_video(samples.v30_audio)
    assert (mov.has_audio, mov.audio_codec) == (True, "aac")
    webm = probe_video(samples.film_opus)
    assert (webm.has_audio, webm.audio_codec, webm.video_codec) == (True, "opus", "vp9")


def test_probe_applies_rotation_metadata(samples: Samples) -> None:
    info = probe_video(samples.rotated)
    assert (info.width, info.height) == (64, 96)
    with VideoReader(samples.rotated, stop=1) as reader:
        assert next(reader).shape == (96, 64, 3)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("text_as_mp4", "not a readable video"),
        ("truncated_no_index", "not a readable video"),
        ("audio_only", "has no video stream"),
        ("zero_frames", "contains no video frames"),
    ],
)
def test_probe_rejects_bad_inputs(samples: Samples, name: str, fragment: str) -> None:
    path = getattr(samples, name)
    with pytest.raises(InputError) as info:
        probe_video(path)
    message = str(info.value)
    assert fragment in message and path.name in message and "\n" not in message


def test_probe_rejects_missing_path_and_folder(tmp_path: Path) -> None:
    for path, fragment in ((tmp_path / "nope.mp4", "does not exist"), (tmp_path, "folder")):
        with pytest.raises(InputError, match=fragment) as info:
            probe_video(path)
        assert str(path) in str(info.value)


def test_snap_fps() -> None:
    assert snap_fps(29.97) == Fraction(30000, 1001)
    assert snap_fps(23.976) == Fraction(24000, 1001)
    assert snap_fps(59.94) == Fraction(60000, 1001)
    assert snap_fps(25.0) == 25 and snap_fps(30.0000001) == 30
    assert snap_fps(12.5) == Fraction(25, 2)
    with pytest.raises(ValueError):
        snap_fps(0.0)


@pytest.mark.parametrize("name", ["v25", "v30_audio", "ntsc_audio", "film_opus"])
def test_reader_yields_every_decoded_frame(samples: Samples, name: str) -> None:
    path = getattr(samples, name)
    info = probe_video(path)
    with VideoReader(path) as reader:
        frames = list(reader)
        assert reader.frames_read == len(frames)
    assert len(frames) == count_frames(path)
    assert all(f.shape == (info.height, info.width, 3) and f.dtype == np.uint8 for f in frames)
    assert frames[0].flags.writeable and not np.array_equal(frames[0], frames[-1])


def test_reader_start_stop_select_a_range(samples: Samples) -> None:
    with VideoReader(samples.v25) as reader:
        everything = list(reader)
    with VideoReader(samples.v25, start=5, stop=9) as reader:
        part = list(reader)
    assert len(part) == 4
    for got, expected in zip(part, everything[5:9], strict=True):
        np.testing.assert_array_equal(got, expected)
    with VideoReader(samples.v25, stop=0) as reader:
        assert list(reader) == []
    with VideoReader(samples.v25, start=1000) as reader:  # past the end: just empty
        assert list(reader) == []


def test_reader_stopping_early_reaps_ffmpeg(samples: Samples) -> None:
    with VideoReader(samples.ntsc_audio) as reader:
        next(reader)
        proc = reader._proc  # the decoder subprocess, still running mid-stream
        assert proc is not None and proc.poll() is None
    assert reader.closed and proc.poll() is not None
    with pytest.raises(StopIteration):
        next(reader)


def test_reader_on_zero_frame_video_is_input_error(samples: Samples) -> None:
    with pytest.raises(InputError, match="contains no video frames"):
        VideoReader(samples.zero_frames)


def test_reader_on_truncated_video_raises_instead_of_stopping(samples: Samples) -> None:
    info = probe_video(samples.truncated_faststart)  # the index survived: probe succeeds
    assert info.frame_count_estimate == 60
    frames = 0
    with pytest.raises(MediaError) as err, VideoReader(samples.truncated_faststart) as reader:
        for _ in reader:
            frames += 1
    assert 0 < frames < 60
    assert "truncated" in str(err.value) and samples.truncated_faststart.name in str(err.value)
    assert reader.closed


def test_probe_streams_measures_audio_and_video(samples: Samples) -> None:
    video, audio = probe_streams(samples.ntsc_audio)
    assert (video.kind, video.codec, video.frames) == ("video", "h264", 30)
    assert video.duration == pytest.approx(30 * 1001 / 30000)
    assert (audio.kind, audio.codec, audio.samples) == ("audio", "aac", 44100)
    assert audio.duration == pytest.approx(1.0)
    with pytest.raises(InputError):
        probe_streams(samples.text_as_mp4)


def test_reader_keeps_frames_on_the_files_clock(samples: Samples) -> None:
    # A video stream that starts after the audio (a camera that starts late, an edit) is
    # padded at the front with its first frame: frame n is at n / fps on the file's
    # clock, so the file's audio, muxed from time 0, stays in sync with the frames.
    with VideoReader(samples.v30_audio) as reader:
        original = list(reader)
    with VideoReader(samples.late_video) as reader:
        shifted = list(reader)
    assert len(shifted) == len(original) + 6  # 0.2 s at 30 fps
    for frame in shifted[:6]:
        np.testing.assert_array_equal(frame, original[0])
    for got, expected in zip(shifted[6:], original, strict=True):
        np.testing.assert_array_equal(got, expected)
