"""The ffmpeg plumbing private to animatecli.media (media/_ffmpeg.py): starting and
stopping the bundled binary, reading its listing of an input, and the one line of its
error log a user is shown."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from testutil import Samples

from animatecli.media import _ffmpeg
from animatecli.media._ffmpeg import (
    codec_thread_args,
    error_lines,
    error_reason,
    parse_input_listing,
    popen_ffmpeg,
    read_stderr,
    run_ffmpeg,
    set_codec_threads,
    stop_process,
)


def listing_of(path: object) -> str:
    """What `ffmpeg -i FILE` prints (to stderr) at the default log level."""
    return run_ffmpeg(["-i", str(path)]).stderr.decode("utf-8", errors="replace")


def test_the_listing_of_a_video_with_sound(samples: Samples) -> None:
    listing = parse_input_listing(listing_of(samples.v30_audio))
    assert listing.opened
    assert listing.duration == pytest.approx(1.0, abs=0.05)
    video, audio = listing.first("video"), listing.first("audio")
    assert video is not None and (video.kind, video.codec) == ("video", "h264")
    assert audio is not None and (audio.kind, audio.codec) == ("audio", "aac")
    assert listing.first("subtitle") is None


def test_webm_streams_carry_their_own_durations(samples: Samples) -> None:
    listing = parse_input_listing(listing_of(samples.film_opus))
    video, audio = listing.first("video"), listing.first("audio")
    assert video is not None and video.codec == "vp9"
    assert audio is not None and audio.codec == "opus"
    assert video.tag_duration == pytest.approx(1.0, abs=0.05)
    assert audio.tag_duration == pytest.approx(1.0, abs=0.05)


def test_cover_art_is_not_the_video() -> None:
    log = (
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'song.m4a':\n"
        "  Duration: 00:03:05.12, start: 0.000000, bitrate: 260 kb/s\n"
        "  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo\n"
        "  Stream #0:1[0x0]: Video: mjpeg (Baseline), yuvj420p, 600x600 (attached pic)\n"
        "At least one output file must be specified\n"
    )
    listing = parse_input_listing(log)
    assert listing.duration == pytest.approx(185.12)
    assert [s.kind for s in listing.streams] == ["audio", "video"]
    assert listing.streams[1].attached_pic and listing.first("video") is None


def test_a_file_ffmpeg_cannot_open_has_no_listing_and_a_reason(samples: Samples) -> None:
    log = listing_of(samples.text_as_mp4)
    assert not parse_input_listing(log).opened
    reason = error_reason(log)
    assert reason == "Invalid data found when processing input"


def test_the_reason_skips_context_prefixes_and_summary_lines() -> None:
    log = (
        "[h264 @ 0x55d7c0a0] decode_slice_header error\n"
        "[vist#0:0/h264 @ 0x55d7c0b0] [dec:h264 @ 0x55d7c0c0] Decoding error: Invalid data\n"
        "\n"
        "Conversion failed!\n"
    )
    assert error_lines(log) == [
        "decode_slice_header error",
        "Decoding error: Invalid data",
        "Conversion failed!",
    ]
    assert error_reason(log) == "Decoding error: Invalid data"
    assert error_reason("Conversion failed!\n") == "unknown ffmpeg error"
    assert error_reason("", default="ffmpeg stopped") == "ffmpeg stopped"


@pytest.fixture
def codec_threads() -> Iterator[None]:
    """Restore the process-wide codec thread count a test sets."""
    before = _ffmpeg._codec_threads
    try:
        yield
    finally:
        set_codec_threads(before)


@pytest.mark.usefixtures("codec_threads")
def test_codec_threads_apply_to_the_next_decoders_and_encoders() -> None:
    set_codec_threads(None)
    assert codec_thread_args() == []
    set_codec_threads(3)
    assert codec_thread_args() == ["-threads", "3"]


def test_a_streaming_ffmpeg_is_stopped_and_reaped() -> None:
    # An endless test pattern piped out: ffmpeg runs until stopped.
    args = ["-f", "lavfi", "-i", "testsrc2=size=32x32:rate=25", "-f", "rawvideo", "-"]
    proc, err = popen_ffmpeg(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.read(4096)  # frames are coming
        assert proc.poll() is None
        stop_process(proc)
        assert proc.returncode is not None
        assert proc.stdout.closed
        assert "Input #0" in read_stderr(err)
    finally:
        err.close()
    stop_process(proc)  # a second stop (and None) never raises
    stop_process(None)
