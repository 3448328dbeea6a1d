"""Internal helpers around the ffmpeg binary bundled with imageio-ffmpeg.

Everything here is private to `animatecli.media`: it knows how to start ffmpeg, how to
read its stderr back without deadlocks and how to parse the stream listing that
`ffmpeg -i FILE` prints (there is no ffprobe in the wheel).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import IO, Literal

from animatecli.errors import MediaError

StreamKind = Literal["video", "audio", "subtitle", "data", "attachment"]

_STREAM_RE = re.compile(
    r"^\s*Stream #\d+:(?P<index>\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: "
    r"(?P<kind>Video|Audio|Subtitle|Data|Attachment): (?P<rest>.*)$"
)
_DURATION_RE = re.compile(r"^\s*Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")
_TAG_DURATION_RE = re.compile(r"^\s*DURATION\s*:\s*(?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")
# "[h264 @ 0x55d7...] message" / "[in#0/mov,mp4 @ 0x...] message": keep only the message.
_CONTEXT_PREFIX_RE = re.compile(r"^(?:\[[^\]]*\]\s*)+")
# Summary lines ffmpeg prints after the real error; they never say what went wrong.
_GENERIC_LINES = (
    "Conversion failed!",
    "Error opening input file",
    "Error opening input files",
    "Error opening output file",
    "Error opening output files",
    "Terminating thread with return code",
    "Task finished with error code",
    "Last message repeated",
    "At least one output file must be specified",
)


# Threads of each streaming decoder and encoder; None: ffmpeg's choice (one per core).
# Set once per process from its thread budget (`set_codec_threads`).
_codec_threads: int | None = None


def set_codec_threads(count: int | None) -> None:
    """Threads every ffmpeg decoder and encoder started from now on may use (None: ffmpeg's
    default, which counts the host's cores and fights the model's threads on a small share)."""
    global _codec_threads
    _codec_threads = count


def codec_thread_args() -> list[str]:
    """``-threads N`` for a decoder (before its ``-i``) or an encoder (among output options)."""
    return [] if _codec_threads is None else ["-threads", str(_codec_threads)]


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary (raises `MediaError` if the wheel lacks it)."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # the package raises RuntimeError, but be defensive
        raise MediaError(f"the bundled ffmpeg binary is not available: {exc}") from exc


def ffmpeg_path(path: str | os.PathLike[str]) -> str:
    """``path`` as an ffmpeg argument that names that file and nothing else.

    ffmpeg reads a name with a protocol prefix as that protocol: ``concat:a.mp4|b.mp4``
    opens two other files, ``http:``, ``tcp:``, ``pipe:``, ``data:``, ``subfile,,...`` do
    what they say. The ``file:`` protocol with an absolute path is always the plain file.
    """
    return "file:" + os.path.abspath(os.fspath(path))


def ffmpeg_cmd(*args: str) -> list[str]:
    """An ffmpeg command line that never reads the terminal and prints no banner/progress."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]


def run_ffmpeg(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg to completion, capturing stdout and stderr (for small outputs only)."""
    # A new session keeps a terminal Ctrl-C away from ffmpeg: Python gets the
    # KeyboardInterrupt and cleans up its children itself, in order.
    return subprocess.run(
        ffmpeg_cmd(*args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        start_new_session=True,
        check=False,
    )


def popen_ffmpeg(
    args: list[str], *, stdin: int | None, stdout: int | None
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start a streaming ffmpeg; stderr goes to an anonymous temp file.

    A file instead of a pipe means ffmpeg can never block on a full stderr pipe while we
    block on its stdin/stdout, without needing a reader thread.
    """
    err = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the caller, closed with proc
    try:
        proc = subprocess.Popen(
            ffmpeg_cmd(*args),
            stdin=stdin,
            stdout=stdout,
            stderr=err,
            bufsize=0,
            start_new_session=True,
        )
    except OSError as exc:
        err.close()
        raise MediaError(f"could not start ffmpeg: {exc.strerror or exc}") from exc
    return proc, err


def read_stderr(err: IO[bytes]) -> str:
    """Everything ffmpeg wrote to a `popen_ffmpeg` stderr file so far."""
    err.flush()
    err.seek(0)
    return err.read().decode("utf-8", errors="replace")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """Kill `proc` if it still runs, reap it and close its pipes; never raises."""
    if proc is None:
        return
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            # A broken pipe on close only means ffmpeg is already gone.
            with contextlib.suppress(OSError):
                pipe.close()
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
    # Unkillable (D state) after 10 s: give up rather than block forever.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def error_lines(stderr: str) -> list[str]:
    """Non-empty stderr lines with the `[codec @ 0x...]` context prefixes removed."""
    lines = []
    for raw in stderr.splitlines():
        line = _CONTEXT_PREFIX_RE.sub("", raw).strip()
        if line:
            lines.append(line)
    return lines


_REPEATED_RE = re.compile(r"^Last message repeated (\d+) times?$")


def count_errors(stderr: str) -> int:
    """How many errors an ffmpeg log at ``-v error`` holds ("Last message repeated N
    times" counts N more); 0 for a clean decode."""
    count = 0
    for line in error_lines(stderr):
        repeated = _REPEATED_RE.match(line)
        count += int(repeated[1]) if repeated else 1
    return count


def error_reason(stderr: str, default: str = "unknown ffmpeg error") -> str:
    """The most telling single line of an ffmpeg error log, for a one-line message."""
    lines = error_lines(stderr)
    for line in reversed(lines):
        if line.startswith("Error opening input:"):
            return line.split(":", 1)[1].strip()
    for line in reversed(lines):
        if not line.startswith(_GENERIC_LINES) and not line.startswith("frame="):
            return line[:200]
    return default


@dataclass(frozen=True)
class StreamEntry:
    """One `Stream #0:N: Kind: ...` line of an ffmpeg input listing."""

    index: int
    kind: StreamKind
    codec: str
    attached_pic: bool
    # Per-stream DURATION tag (Matroska/WebM write one); None when absent.
    tag_duration: float | None = None


@dataclass
class InputListing:
    """What `ffmpeg -i FILE` says about input #0."""

    opened: bool = False
    duration: float | None = None
    streams: list[StreamEntry] = field(default_factory=list)

    def first(self, kind: StreamKind) -> StreamEntry | None:
        """The first stream of `kind` (cover-art "video" streams are skipped)."""
        for stream in self.streams:
            if stream.kind == kind and not stream.attached_pic:
                return stream
        return None


def _seconds(match: re.Match[str]) -> float:
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def parse_input_listing(stderr: str) -> InputListing:
    """Parse the `Input #0 ...` block that ffmpeg prints at the default log level."""
    listing = InputListing()
    in_block = False
    pending: dict[str, object] | None = None  # the stream whose metadata lines follow

    def flush() -> None:
        if pending is not None:
            listing.streams.append(StreamEntry(**pending))  # type: ignore[arg-type]

    for line in stderr.splitlines():
        if line.startswith("Input #0"):
            in_block = listing.opened = True
            continue
        if not in_block:
            continue
        if not line.startswith(" "):  # "Stream mapping:", "Output #0", log lines: done
            break
        if m := _DURATION_RE.match(line):
            listing.duration = _seconds(m)
        elif m := _STREAM_RE.match(line):
            flush()
            rest = m["rest"]
            codec = re.split(r"[ ,(]", rest, maxsplit=1)[0]
            pending = {
                "index": int(m["index"]),
                "kind": m["kind"].lower(),
                "codec": codec,
                "attached_pic": "(attached pic)" in rest,
            }
        elif pending is not None and (m := _TAG_DURATION_RE.match(line)):
            pending["tag_duration"] = _seconds(m)
    flush()
    return listing
