"""Atomic frame sinks: MP4/MOV/MKV/WebM video, animated GIF, or a folder of PNGs.

Every sink writes into a hidden temporary sibling of its target (`.out.mp4.<rand>.tmp.mp4`,
real extension last so ffmpeg picks the right muxer) and only `os.replace`s it onto the
target in `close()`. `abort()` - also what leaving a `with` block by an exception does,
KeyboardInterrupt included - kills ffmpeg and deletes the temporaries, so an interrupted
run leaves neither a half-written output nor litter behind.

Provenance (docs/provenance.md): a sink given a ``label`` writes the "AI-generated" label
into the container's own metadata (ffmpeg ``-metadata``, a GIF comment, PNG text chunks);
a ``seal`` hook (the C2PA signing of MP4s) runs on the finished temporary before the
rename, so an output that fails to be sealed is never seen.

Pre-flight: `check_output_path` validates a target (kind, existence, parent folder)
before any expensive work starts; `open_sink` runs it and picks the sink.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol, TypeVar, runtime_checkable

import cv2
import numpy as np

from animatecli.atomic import commit, commit_folder, remove_stale_temporaries, temp_sibling
from animatecli.errors import InputError, MediaError, OutputError, OutputExistsError
from animatecli.interrupts import raise_if_interrupted
from animatecli.media._ffmpeg import (
    codec_thread_args,
    error_reason,
    ffmpeg_path,
    popen_ffmpeg,
    read_stderr,
    run_ffmpeg,
    stop_process,
)
from animatecli.media.video import probe_audio_codec, snap_fps
from animatecli.options import DEFAULT_CRF, DEFAULT_PRESET, X264_PRESETS
from animatecli.paths import OUTPUT_VIDEO_EXTENSIONS, OutputKind, check_output_path, output_kind

__all__ = [
    "AUDIO_BITRATE",
    "FRAME_NAME_FORMAT",
    "OUTPUT_VIDEO_EXTENSIONS",
    "X264_PRESETS",
    "FrameSink",
    "GifSink",
    "OutputExistsError",
    "OutputKind",
    "PngDirSink",
    "VideoFileSink",
    "check_output_path",
    "open_sink",
    "output_kind",
]

FRAME_NAME_FORMAT = "frame_{:06d}.png"
AUDIO_BITRATE = "192k"  # AAC re-encode bitrate; Opus (WebM) gets OPUS_BITRATE
OPUS_BITRATE = "128k"

# Audio codecs each container takes as a stream copy; anything else is re-encoded.
# None means "try a copy, re-encode only if the muxer refuses" (Matroska takes almost all).
_COPYABLE_AUDIO: dict[str, frozenset[str] | None] = {
    ".mp4": frozenset({"aac", "mp3", "alac"}),
    ".mov": frozenset({"aac", "mp3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le"}),
    ".mkv": None,
    ".webm": frozenset({"opus", "vorbis"}),
}
# libvpx-vp9 speed (-cpu-used) for each x264 preset name, so `preset` means one thing.
_VP9_CPU_USED = {
    "ultrafast": 5,
    "superfast": 5,
    "veryfast": 5,
    "faster": 4,
    "fast": 4,
    "medium": 3,
    "slow": 2,
    "slower": 1,
    "veryslow": 0,
    "placebo": 0,
}
# NVENC preset (p1 fastest ... p7 best; p4 is its default, "medium") for each x264 preset
# name, so `preset` means one thing for both H.264 encoders.
_NVENC_PRESET = {
    "ultrafast": "p1",
    "superfast": "p1",
    "veryfast": "p2",
    "faster": "p2",
    "fast": "p3",
    "medium": "p4",
    "slow": "p5",
    "slower": "p6",
    "veryslow": "p7",
    "placebo": "p7",
}


def nvenc_args(crf: int, preset: str, gpu: int) -> list[str]:
    """``h264_nvenc`` options for x264's ``crf`` and ``preset`` on CUDA device ``gpu``.

    CRF becomes NVENC's constant-quality target (``-rc vbr -cq``, with no bitrate cap),
    the same 0-51 scale with lower meaning better; NVENC's 0 means "automatic", so
    x264's lossless 0 becomes 1, its best.
    """
    return [
        "-c:v", "h264_nvenc", "-gpu", str(gpu),
        "-preset", _NVENC_PRESET[preset],
        "-rc", "vbr", "-cq", str(max(crf, 1)), "-b:v", "0",
        "-pix_fmt", "yuv420p",
    ]  # fmt: skip


@runtime_checkable
class FrameSink(Protocol):
    """Consumes H×W×3 uint8 RGB frames; atomic: nothing appears at the target before close()."""

    path: Path
    frames_written: int
    audio_kept: bool  # meaningful after close(); always False for GIF and PNG outputs
    encoder: str  # ffmpeg's name of the video encoder ("libx264", "h264_nvenc", "gif", "png")

    def write(self, frame: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def __enter__(self) -> FrameSink: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _check_frame(frame: np.ndarray, height: int, width: int, target: Path) -> np.ndarray:
    if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
        raise ValueError(
            f"frame for {target} must be {height}×{width}×3 uint8, "
            f"got {'×'.join(map(str, frame.shape))} {frame.dtype}"
        )
    return np.ascontiguousarray(frame)


_SinkT = TypeVar("_SinkT", bound="_AtomicSink")


# A hook run on a finished temporary file before it is renamed onto the target (e.g. C2PA
# signing); it may rewrite the file in place and raises to abort the output.
Seal = Callable[[Path], None]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_label_chunks(model: str | None) -> bytes:
    """The label's PNG text chunks (`provenance.label.png_text`), ready to splice after
    the IHDR chunk of an encoded PNG."""
    from animatecli.provenance.label import png_text

    return b"".join(_png_chunk(kind, data) for kind, data, *_ in png_text(model).chunks)


def _label_args(ext: str, label: str | None) -> list[str]:
    if label is None:
        return []
    from animatecli.provenance.label import ffmpeg_metadata_args

    return ffmpeg_metadata_args(ext, label or None)


def _as_fps(fps: Fraction | int | float) -> Fraction:
    """Exact rate; a float such as 29.97 is snapped to the ratio it stands for."""
    rate = snap_fps(fps) if isinstance(fps, float) else Fraction(fps)
    if rate <= 0:
        raise ValueError(f"invalid frame rate {fps}")
    return rate


class _AtomicSink:
    """Shared state machine: open -> (closed | aborted); context-manager semantics."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        overwrite: bool,
        label: str | None = None,
        seal: Seal | None = None,
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        # label: None for no label, else the model it names ("" for none); see `open_sink`.
        self.label = label
        self._seal = seal
        self.frames_written = 0
        self.audio_kept = False
        self._finished = False

    def __enter__(self: _SinkT) -> _SinkT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # A sink dropped without close()/abort() must not leave temp files behind.
        if not getattr(self, "_finished", True):
            with contextlib.suppress(Exception):
                self.abort()

    def _check_open(self) -> None:
        if self._finished:
            raise ValueError(f"sink for {self.path} is already closed")

    def _commit(self, temp: Path) -> None:
        """Seal the finished temp file, then move it onto the target (the only visible step)."""
        raise_if_interrupted()
        if self._seal is not None:
            self._seal(temp)
            raise_if_interrupted()
        commit(temp, self.path, overwrite=self.overwrite)

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


_SPACE_CHECK_EVERY = 25  # frames between two looks at the free space
_MIN_FREE_BYTES = 256 * 1024


def free_bytes(folder: Path) -> int:
    """Bytes this process may still write in ``folder``'s file system."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def _check_free_space(target: Path) -> None:
    """`MediaError` once the disk is full: ffmpeg goes on encoding after its writes fail,
    and would only report it at the end of the run."""
    folder = Path(os.path.abspath(target)).parent
    if free_bytes(folder) < _MIN_FREE_BYTES:
        raise MediaError(f"encoding {target} failed: no space left on the device of {folder}")


class _FfmpegPipe:
    """One ffmpeg process reading raw RGB frames from stdin and writing `output`."""

    def __init__(self, width: int, height: int, fps: Fraction, out_args: list[str]) -> None:
        args = [
            "-v", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-framerate", f"{fps.numerator}/{fps.denominator}",
            "-i", "-",
            *codec_thread_args(),
            *out_args,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None
        self.stderr: IO[bytes] | None
        self.proc, self.stderr = popen_ffmpeg(args, stdin=subprocess.PIPE, stdout=None)
        self.frames = 0

    def write(self, data: np.ndarray, target: Path) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.frames += 1
        if self.frames % _SPACE_CHECK_EVERY == 0:
            _check_free_space(target)
        try:
            self.proc.stdin.write(memoryview(data).cast("B"))
        except OSError as exc:  # BrokenPipeError: ffmpeg died (disk full, bad args...)
            reason = self._reason_after_exit()
            raise MediaError(f"encoding {target} failed: {reason}") from exc

    def finish(self, target: Path) -> None:
        """Close stdin, wait for the encoder to flush, raise `MediaError` on failure."""
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(OSError):  # reported through the exit status below
            self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise MediaError(f"encoding {target} failed: {self._reason_after_exit()}")
        self.stop()

    def _reason_after_exit(self) -> str:
        assert self.proc is not None and self.stderr is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        return error_reason(read_stderr(self.stderr))

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


def _run_or_raise(args: list[str], what: str) -> None:
    proc = run_ffmpeg(["-v", "error", *args])
    if proc.returncode != 0:
        reason = error_reason(proc.stderr.decode("utf-8", errors="replace"))
        raise MediaError(f"{what} failed: {reason}")


def _even(n: int) -> int:
    return n + (n % 2)


class VideoFileSink(_AtomicSink):
    """Encode frames to .mp4/.mov/.mkv (H.264) or .webm (VP9), yuv420p, optional audio.

    Frames are H×W×3 uint8 RGB of exactly (height, width). yuv420p needs even sizes, so an
    odd width/height is padded by repeating the last column/row; `output_width` and
    `output_height` give the size actually written.

    Audio (from `audio_from`, typically the driving video) is muxed at `close()` in a
    second, stream-copy-fast ffmpeg pass, cut to exactly frames/fps: while frames stream
    in we do not know how many there will be, and `-shortest` with a stdin video input
    cuts at unreliable points. A source without audio gives a silent output;
    `audio_kept` tells, after `close()`, whether audio was written.

    `nvenc_gpu`: encode H.264 with NVENC on that CUDA device instead of libx264 (see
    `nvenc_args` for how `crf` and `preset` carry over; `media.choose_encoder` decides).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: Fraction | int | float,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        audio_from: str | os.PathLike[str] | None = None,
        *,
        overwrite: bool = False,
        nvenc_gpu: int | None = None,
        label: str | None = None,
        seal: Seal | None = None,
    ) -> None:
        super().__init__(path, overwrite, label, seal)
        self._finished = True  # until fully constructed: nothing to clean up yet
        self.ext = self.path.suffix.lower()
        if self.ext not in OUTPUT_VIDEO_EXTENSIONS:
            raise InputError(f"output {self.path}: not a video extension ({self.ext or 'none'})")
        if nvenc_gpu is not None and self.ext == ".webm":
            raise ValueError("NVENC writes H.264; a .webm output is VP9")
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid frame size {width}x{height}")
        if preset not in X264_PRESETS:
            raise ValueError(f"unknown preset {preset!r}; use one of {', '.join(X264_PRESETS)}")
        max_crf = 63 if self.ext == ".webm" else 51
        if not 0 <= crf <= max_crf:
            raise ValueError(f"crf must be in 0..{max_crf} for {self.ext}, got {crf}")
        check_output_path(self.path, overwrite)
        self.width, self.height = width, height
        self.output_width, self.output_height = _even(width), _even(height)
        self.fps = _as_fps(fps)
        self.crf, self.preset = crf, preset
        self.nvenc_gpu = nvenc_gpu
        if self.ext == ".webm":
            self.encoder = "libvpx-vp9"
        else:
            self.encoder = "libx264" if nvenc_gpu is None else "h264_nvenc"
        # Probe the audio source now so a bad path fails before any frame is computed.
        # Any media file will do (the driving video, or e.g. a .wav).
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self._audio_codec = probe_audio_codec(self.audio_from) if self.audio_from else None
        self._temps: list[Path] = []
        self._video_temp = self._new_temp()
        self._finished = False
        try:
            self._pipe = _FfmpegPipe(
                self.output_width,
                self.output_height,
                self.fps,
                [
                    *self._video_codec_args(),
                    # faststart rewrites the file once; do it in the final pass only.
                    *([] if self._audio_codec else self._container_args()),
                    *_label_args(self.ext, self.label),
                    "-y", ffmpeg_path(self._video_temp),
                ],
            )  # fmt: skip
        except BaseException:
            self.abort()
            raise

    @property
    def will_mux_audio(self) -> bool:
        """True if `audio_from` has an audio stream that `close()` will try to mux in."""
        return self._audio_codec is not None

    def _new_temp(self) -> Path:
        temp = temp_sibling(self.path, self.path.suffix)
        self._temps.append(temp)
        return temp

    def _video_codec_args(self) -> list[str]:
        if self.ext == ".webm":
            return [
                "-c:v", "libvpx-vp9", "-crf", str(self.crf), "-b:v", "0",
                "-deadline", "good", "-cpu-used", str(_VP9_CPU_USED[self.preset]),
                "-row-mt", "1", "-pix_fmt", "yuv420p",
            ]  # fmt: skip
        if self.nvenc_gpu is not None:
            return nvenc_args(self.crf, self.preset, self.nvenc_gpu)
        return [
            "-c:v", "libx264", "-crf", str(self.crf), "-preset", self.preset,
            "-pix_fmt", "yuv420p",
        ]  # fmt: skip

    def _container_args(self) -> list[str]:
        return ["-movflags", "+faststart"] if self.ext in (".mp4", ".mov") else []

    def write(self, frame: np.ndarray) -> None:
        """Append one H×W×3 uint8 RGB frame."""
        self._check_open()
        data = _check_frame(frame, self.height, self.width, self.path)
        if (self.output_width, self.output_height) != (self.width, self.height):
            pad = ((0, self.output_height - self.height), (0, self.output_width - self.width))
            data = np.pad(data, (*pad, (0, 0)), mode="edge")
        try:
            self._pipe.write(data, self.path)
        except BaseException:
            self.abort()
            raise
        self.frames_written += 1

    def close(self) -> None:
        """Finish encoding, mux audio, move the result onto the target."""
        if self._finished:
            return
        try:
            if self.frames_written == 0:
                raise MediaError(f"no frames were written to {self.path}")
            self._pipe.finish(self.path)
            final = self._video_temp
            if self._audio_codec is not None:
                final = self._mux_audio()
            self._commit(final)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._cleanup()

    def _mux_audio(self) -> Path:
        """Second pass: copy the video, add the source's first audio stream, cut to length."""
        assert self.audio_from is not None and self._audio_codec is not None
        copyable = _COPYABLE_AUDIO[self.ext]
        attempts = []
        if copyable is None or self._audio_codec in copyable:
            attempts.append(["-c:a", "copy"])
        if self.ext == ".webm":
            attempts.append(["-c:a", "libopus", "-b:a", OPUS_BITRATE])
        else:
            attempts.append(["-c:a", "aac", "-b:a", AUDIO_BITRATE])
        # frames/fps exactly, rounded up to the microsecond so the last frame survives.
        seconds = Fraction(self.frames_written) / self.fps
        micros = -(-seconds.numerator * 1_000_000 // seconds.denominator)
        duration = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
        error: MediaError | None = None
        for audio_args in attempts:
            out = self._new_temp()
            try:
                _run_or_raise(
                    [
                        "-i", ffmpeg_path(self._video_temp),
                        "-i", ffmpeg_path(self.audio_from),
                        "-map", "0:v:0", "-map", "1:a:0",
                        "-c:v", "copy", *audio_args,
                        "-t", duration,
                        *self._container_args(),
                        *_label_args(self.ext, self.label),
                        "-y", ffmpeg_path(out),
                    ],
                    f"adding the audio of {self.audio_from} to {self.path}",
                )  # fmt: skip
            except MediaError as exc:
                # A stream copy the muxer refuses falls back to re-encoding.
                error = exc
                _unlink(out)
                continue
            self.audio_kept = True
            return out
        assert error is not None
        raise error

    def abort(self) -> None:
        """Stop ffmpeg and delete every temporary file; the target is left untouched."""
        self._finished = True
        self._cleanup()

    def _cleanup(self) -> None:
        pipe = getattr(self, "_pipe", None)
        if pipe is not None:
            pipe.stop()
        for temp in getattr(self, "_temps", []):
            _unlink(temp)


class GifSink(_AtomicSink):
    """Animated GIF (infinite loop) via ffmpeg's palettegen/paletteuse.

    Frames (H×W×3 uint8 RGB, size fixed by the first one) are first stored losslessly
    (FFV1) in a temp file; at `close()` one pass computes a 256-colour palette over the
    whole clip and a second pass dithers every frame with it. Memory stays flat (unlike a
    one-pass split filter, which buffers every frame until the palette is known).
    """

    encoder = "gif"

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: Fraction | int | float,
        *,
        overwrite: bool = False,
        label: str | None = None,
        seal: Seal | None = None,
    ) -> None:
        super().__init__(path, overwrite, label, seal)
        self._finished = True
        if self.path.suffix.lower() != ".gif":
            raise InputError(f"output {self.path}: not a .gif file")
        check_output_path(self.path, overwrite)
        self.fps = _as_fps(fps)
        self.width = self.height = 0
        self._pipe: _FfmpegPipe | None = None
        self._temps: list[Path] = []
        self._intermediate = self._new_temp(".mkv")
        self._finished = False

    def _new_temp(self, suffix: str) -> Path:
        temp = temp_sibling(self.path, suffix)
        self._temps.append(temp)
        return temp

    def write(self, frame: np.ndarray) -> None:
        """Append one H×W×3 uint8 RGB frame."""
        self._check_open()
        try:
            if self._pipe is None:
                if frame.ndim != 3 or frame.shape[2] != 3:
                    raise ValueError(f"frame for {self.path} must be H×W×3, got {frame.shape}")
                self.height, self.width = frame.shape[:2]
                self._pipe = _FfmpegPipe(
                    self.width,
                    self.height,
                    self.fps,
                    ["-c:v", "ffv1", "-pix_fmt", "bgr0", "-y", ffmpeg_path(self._intermediate)],
                )
            data = _check_frame(frame, self.height, self.width, self.path)
            self._pipe.write(data, self.path)
        except ValueError:
            raise  # a caller bug, not a reason to throw away the frames so far
        except BaseException:
            self.abort()
            raise
        self.frames_written += 1

    def close(self) -> None:
        """Build the palette, render the GIF, move it onto the target."""
        if self._finished:
            return
        try:
            if self._pipe is None or self.frames_written == 0:
                raise MediaError(f"no frames were written to {self.path}")
            self._pipe.finish(self.path)
            palette = self._new_temp(".png")
            _run_or_raise(
                [
                    "-i", ffmpeg_path(self._intermediate),
                    "-vf", "palettegen=max_colors=256:stats_mode=full",
                    "-update", "1", "-frames:v", "1", "-y", ffmpeg_path(palette),
                ],
                f"building the GIF palette for {self.path}",
            )  # fmt: skip
            gif = self._new_temp(".gif")
            _run_or_raise(
                [
                    "-i", ffmpeg_path(self._intermediate), "-i", ffmpeg_path(palette),
                    "-lavfi", "[0:v][1:v]paletteuse=dither=sierra2_4a:diff_mode=rectangle",
                    # Passthrough: one GIF frame per input frame, never merged or duplicated.
                    "-fps_mode", "passthrough",
                    "-loop", "0", "-f", "gif", "-y", ffmpeg_path(gif),
                ],
                f"encoding {self.path}",
            )  # fmt: skip
            if self.label is not None:
                from animatecli.provenance.label import label_gif

                label_gif(gif, self.label or None)
            self._commit(gif)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._cleanup()

    def abort(self) -> None:
        """Stop ffmpeg and delete every temporary file; the target is left untouched."""
        self._finished = True
        self._cleanup()

    def _cleanup(self) -> None:
        if getattr(self, "_pipe", None) is not None:
            self._pipe.stop()  # type: ignore[union-attr]
        for temp in getattr(self, "_temps", []):
            _unlink(temp)


class PngDirSink(_AtomicSink):
    """A folder of lossless numbered PNGs, `frame_000000.png`, `frame_000001.png`, ...

    Frames go into a hidden temp folder beside the target, renamed into place at
    `close()`. With `overwrite`, an existing folder is replaced only if it holds nothing
    but `frame_*.png` files (see `check_output_path`).
    """

    encoder = "png"

    def __init__(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, label: str | None = None
    ) -> None:
        super().__init__(path, overwrite, label)
        self._label_chunks = b"" if label is None else png_label_chunks(label or None)
        self._finished = True
        check_output_path(os.path.join(os.fspath(path), ""), overwrite)
        self._temp = temp_sibling(self.path.absolute(), "")
        try:
            self._temp.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.width = self.height = 0
        self._finished = False

    def write(self, frame: np.ndarray) -> None:
        """Store one H×W×3 uint8 RGB frame as the next PNG."""
        self._check_open()
        if self.frames_written == 0:
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"frame for {self.path} must be H×W×3, got {frame.shape}")
            self.height, self.width = frame.shape[:2]
        data = _check_frame(frame, self.height, self.width, self.path)
        # Compression level 1: lossless like any other level, several times faster.
        ok, encoded = cv2.imencode(
            ".png", cv2.cvtColor(data, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
        )
        if not ok:
            self.abort()
            raise MediaError(f"could not encode frame {self.frames_written} for {self.path}")
        data_bytes = encoded.tobytes()
        if self._label_chunks:
            # Text chunks go right after the 8-byte signature and the 25-byte IHDR chunk.
            data_bytes = data_bytes[:33] + self._label_chunks + data_bytes[33:]
        try:
            (self._temp / FRAME_NAME_FORMAT.format(self.frames_written)).write_bytes(data_bytes)
        except OSError as exc:
            self.abort()
            raise MediaError(f"cannot write frames to {self.path}: {exc.strerror or exc}") from exc
        self.frames_written += 1

    def close(self) -> None:
        """Rename the finished temp folder onto the target (replacing an old frame folder)."""
        if self._finished:
            return
        try:
            if self.frames_written == 0:
                raise MediaError(f"no frames were written to {self.path}")
            self._commit_dir()
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def _commit_dir(self) -> None:
        raise_if_interrupted()
        # Re-check: the folder may have filled up while frames were being computed.
        check_output_path(os.path.join(os.fspath(self.path), ""), self.overwrite)
        commit_folder(self._temp, self.path)

    def abort(self) -> None:
        """Delete the temp folder; the target is left untouched."""
        self._finished = True
        temp = getattr(self, "_temp", None)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def open_sink(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    fps: Fraction,
    *,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    audio_from: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    nvenc_gpu: int | None = None,
    label: str | None = None,
    seal: Seal | None = None,
) -> FrameSink:
    """Open the sink a target asks for (see `output_kind`), after `check_output_path`.

    `width`/`height` are the frame size to be written; only video files need them up front.
    `audio_from` and `nvenc_gpu` apply to video files only (GIFs and PNGs carry no sound).
    `label`: write the AI-generated label naming this model ("" for no model name; None:
    no label). `seal`: run on a video file's or GIF's finished temporary before the rename.
    """
    kind = check_output_path(path, overwrite)
    # Leftovers of killed runs into the same target; live runs' files are kept.
    remove_stale_temporaries(Path(os.path.abspath(path)))
    if kind is OutputKind.PNG_DIR:
        return PngDirSink(path, overwrite=overwrite, label=label)
    if kind is OutputKind.GIF:
        return GifSink(path, fps, overwrite=overwrite, label=label, seal=seal)
    return VideoFileSink(
        path,
        width,
        height,
        fps,
        crf=crf,
        preset=preset,
        audio_from=audio_from,
        overwrite=overwrite,
        nvenc_gpu=nvenc_gpu,
        label=label,
        seal=seal,
    )
