"""A job's files checked before the model loads (no torch here): inputs, output, encoder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..options import AnimateOptions
from ..paths import OutputKind, check_input_file, check_output_path


@dataclass(frozen=True)
class CheckedOutput:
    """An output target that passed `check_output_path` for this job's inputs: a job given
    one does not check it again (the sink still refuses a target that appeared since)."""

    path: str | os.PathLike[str]  # a trailing "/" in a string asks for a folder of PNGs
    kind: OutputKind


def check_job_files(
    source: Path,
    driving: Path,
    output: str | os.PathLike[str],
    options: AnimateOptions,
    device: str,
) -> CheckedOutput:
    """Refuse missing inputs, an unusable output and ``--encoder nvenc`` where it cannot
    work (a one-frame encode, cached for the job), all before any model loads."""
    check_input_file(source, "image")
    check_input_file(driving, "video")
    kind = check_output_path(output, options.overwrite, inputs=(source, driving))
    check_encoder(options, device, [output])
    return CheckedOutput(output, kind)


def check_encoder(
    options: AnimateOptions, device: str, outputs: list[str | os.PathLike[str]] | list[Path]
) -> None:
    """``--encoder nvenc`` where NVENC does not work or an output is not H.264 fails here;
    auto and x264 always find an encoder."""
    if options.encoder != "nvenc":
        return
    from ..media import choose_encoder

    for output in outputs:
        choose_encoder("nvenc", device, output)
