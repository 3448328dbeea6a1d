"""NVENC/NVDEC probes and the choice of encoder and decoder (animatecli.media.hardware),
through the real bundled ffmpeg.

Without an NVIDIA driver (CI, this machine) every probe must fail with ffmpeg's reason
and every automatic choice fall back to software; the cases that need the driver absent
are skipped where one is installed (a GPU machine runs scripts/cuda_checks.py instead).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from testutil import Samples, without_driver

from animatecli.errors import DeviceError, ExitCode, InputError, MediaError
from animatecli.media import (
    HardwareProbe,
    VideoFileSink,
    VideoReader,
    choose_decoder,
    choose_encoder,
    probe_nvdec,
    probe_nvenc,
    probe_streams,
)
from animatecli.media.hardware import cuda_index
from animatecli.media.sinks import nvenc_args


@without_driver
@pytest.mark.parametrize("probe", [probe_nvenc, probe_nvdec])
def test_probes_fail_with_ffmpegs_one_line_reason(probe: Callable[[int], HardwareProbe]) -> None:
    result = probe(0)
    assert not result.available
    assert "libcuda" in result.reason, result.reason  # the cause, not a later consequence
    assert "\n" not in result.reason and len(result.reason) <= 200


@without_driver
def test_probes_run_once_per_process_and_gpu() -> None:
    probe_nvenc(0)
    before = probe_nvenc.cache_info()
    assert probe_nvenc(0) is probe_nvenc(0)
    assert probe_nvenc.cache_info().hits == before.hits + 2
    assert probe_nvenc.cache_info().misses == before.misses


def test_cuda_index_reads_device_names() -> None:
    assert cuda_index("cuda") == 0
    assert cuda_index("CUDA:3") == 3
    assert cuda_index("cpu") is None
    assert cuda_index("auto") is None


def test_cpu_jobs_use_software_codecs_without_probing(tmp_path: Path) -> None:
    probes = probe_nvenc.cache_info(), probe_nvdec.cache_info()
    encoder = choose_encoder("auto", "cpu", tmp_path / "out.mp4")
    decoder = choose_decoder("cpu")
    assert (encoder.gpu, decoder.gpu) == (None, None)
    assert encoder.reason == "auto: the job runs on the CPU"
    assert decoder.reason == "the job runs on the CPU"
    assert (probe_nvenc.cache_info(), probe_nvdec.cache_info()) == probes


@without_driver
def test_cuda_jobs_fall_back_to_software_with_the_reason(tmp_path: Path) -> None:
    encoder = choose_encoder("auto", "cuda:0", tmp_path / "out.mp4")
    assert not encoder.hardware
    assert encoder.reason.startswith("auto: NVENC unavailable (") and "libcuda" in encoder.reason
    decoder = choose_decoder("cuda")
    assert not decoder.hardware
    assert decoder.reason.startswith("NVDEC unavailable (") and "libcuda" in decoder.reason


@without_driver
def test_nvenc_asked_for_where_it_does_not_work_is_a_device_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match=r"--encoder nvenc: NVENC does not work here \(") as e:
        choose_encoder("nvenc", "cuda:0", tmp_path / "out.mkv")
    assert e.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("output", ["out.webm", "out.gif", "frames/"])
def test_encoder_choice_for_outputs_that_are_not_h264(tmp_path: Path, output: str) -> None:
    target = f"{tmp_path}/{output}"
    assert choose_encoder("auto", "cuda:0", target).gpu is None
    assert choose_encoder("x264", "cpu", target).gpu is None
    with pytest.raises(InputError, match=r"--encoder nvenc writes H\.264"):
        choose_encoder("nvenc", "cuda:0", target)


def test_x264_is_taken_as_asked(tmp_path: Path) -> None:
    choice = choose_encoder("x264", "cuda:1", tmp_path / "out.mov")
    assert (choice.gpu, choice.reason) == (None, "--encoder x264")


@pytest.mark.parametrize(
    ("crf", "preset", "cq", "nvenc_preset"),
    [(18, "medium", "18", "p4"), (0, "veryslow", "1", "p7"), (51, "ultrafast", "51", "p1")],
)
def test_crf_and_preset_carry_over_to_nvenc(
    crf: int, preset: str, cq: str, nvenc_preset: str
) -> None:
    args = nvenc_args(crf, preset, gpu=1)
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert options["-c:v"] == "h264_nvenc" and options["-gpu"] == "1"
    assert (options["-rc"], options["-cq"], options["-b:v"]) == ("vbr", cq, "0")
    assert options["-preset"] == nvenc_preset


def test_sinks_name_their_encoder(tmp_path: Path) -> None:
    frame = np.zeros((32, 48, 3), np.uint8)
    for name, codec, encoder in [("a.mp4", "h264", "libx264"), ("a.webm", "vp9", "libvpx-vp9")]:
        with VideoFileSink(tmp_path / name, 48, 32, 25, preset="ultrafast") as sink:
            sink.write(frame)
        assert sink.encoder == encoder
        assert probe_streams(tmp_path / name)[0].codec == codec
    with pytest.raises(ValueError, match=r"NVENC writes H\.264"):
        VideoFileSink(tmp_path / "b.webm", 48, 32, 25, nvenc_gpu=0)


@without_driver
def test_an_nvenc_sink_without_nvenc_fails_cleanly(tmp_path: Path) -> None:
    """Forced past the choice, the encoder fails with ffmpeg's reason and leaves nothing."""
    frame = np.zeros((64, 64, 3), np.uint8)
    with (
        pytest.raises(MediaError, match=r"encoding .*out\.mp4 failed"),
        VideoFileSink(tmp_path / "out.mp4", 64, 64, 25, nvenc_gpu=0) as sink,
    ):
        for _ in range(200):  # until the pipe to the dead ffmpeg breaks, or close()
            sink.write(frame)
    assert list(tmp_path.iterdir()) == []


@without_driver
def test_decoding_is_unchanged_where_nvdec_is_not_available(samples: Samples) -> None:
    """A CUDA job here gets the software decoder: the very frames of a plain reader."""
    decoder = choose_decoder("cuda:0")
    with VideoReader(samples.ntsc_audio, nvdec_gpu=decoder.gpu) as reader:
        chosen = list(reader)
    with VideoReader(samples.ntsc_audio) as reader:
        plain = list(reader)
    assert len(chosen) == len(plain) == 30
    assert all(np.array_equal(a, b) for a, b in zip(chosen, plain, strict=True))
