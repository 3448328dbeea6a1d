"""Many animations in one run: every source × driving pair of a folder (or a pairs
file), resumable, continuing past failures, and shardable across machines."""

from __future__ import annotations

import csv
import json
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import atomic_write_text, has_live_temporaries
from .errors import AnimateError, ExitCode, InputError, OutputError, OutputExistsError
from .options import AnimateOptions
from .paths import check_name_length, check_not_stdout, output_name
from .progress import Reporter
from .words import counted

if TYPE_CHECKING:
    from .runtime.runtime import Runtime

# What a folder batch takes as inputs (more than `animate` writes: paths.OUTPUT_VIDEO_EXTENSIONS).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
DRIVING_VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif")


@dataclass(frozen=True)
class Pair:
    """One job of a batch."""

    source: Path
    driving: Path
    output: Path


@dataclass
class PairResult:
    """How one pair went: ``ok``, ``skipped`` (output already complete) or ``failed``."""

    source: str
    driving: str
    output: str
    status: str
    seconds: float = 0.0
    error: str | None = None
    frames: int | None = None


def _labels(paths: list[Path]) -> dict[Path, str]:
    """Each file's part of an output name: its stem, or its full name where two files of
    the list share a stem (``a.png`` and ``a.jpg`` give ``a.png`` and ``a.jpg``)."""
    stems = Counter(p.stem for p in paths)
    return {p: p.name if stems[p.stem] > 1 else p.stem for p in paths}


def check_output_folder(folder: Path, outdir: Path) -> None:
    """Refuse an output folder that is the input folder: the next run would take the
    outputs for driving videos."""
    if folder.resolve() == outdir.resolve():
        raise InputError(
            f"--output {outdir} is the input folder; outputs would become inputs on the next "
            f"run (the default is {folder / 'animated'})"
        )


def folder_pairs(folder: Path, outdir: Path) -> list[Pair]:
    """Every image × video pair in ``folder`` (not recursive), in name order."""
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    check_output_folder(folder, outdir)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    sources = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    drivings = [p for p in files if p.suffix.lower() in DRIVING_VIDEO_EXTENSIONS]
    if not sources or not drivings:
        raise InputError(
            f"{folder} needs at least one image and one video (found "
            f"{counted(len(sources), 'image')}, {counted(len(drivings), 'video')})"
        )
    source_labels, driving_labels = _labels(sources), _labels(drivings)
    names = {
        (s, d): f"{source_labels[s]}__{driving_labels[d]}.mp4" for s in sources for d in drivings
    }
    # "x" × "y__z" and "x__y" × "z" both give x__y__z.mp4: such pairs take names with
    # the files' full names instead (x.png__y__z.mp4.mp4), then a number if still taken.
    counts = Counter(names.values())
    taken = {name for name, n in counts.items() if n == 1}
    for (s, d), name in names.items():
        if counts[name] > 1:
            unique, number = f"{s.name}__{d.name}.mp4", 2
            while unique in taken:
                unique, number = f"{s.name}__{d.name}-{number}.mp4", number + 1
            taken.add(unique)
            names[(s, d)] = unique
    return [Pair(s, d, outdir / names[(s, d)]) for s in sources for d in drivings]


def _resolved(path: Path) -> Path:
    """``path`` made absolute with ``..`` and links resolved (it need not exist)."""
    return Path(os.path.realpath(path))


def check_output_folder_usable(outdir: Path) -> None:
    """Fail before any work unless ``outdir`` is (or can be made as) a writable folder."""
    check_not_stdout(outdir, "--output")
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"--output {outdir} is a file, not a folder")
    existing = Path(os.path.abspath(outdir))
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--output {outdir}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--output {outdir}: folder {existing} is not writable")


def make_output_folder(outdir: Path) -> None:
    """Create ``outdir`` (checked by `check_output_folder_usable`; a race still ends in
    one line)."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create --output {outdir}: {exc.strerror or exc}") from None


def check_writes_spare_inputs(
    pairs: list[Pair], report: Path | None = None, pairs_file: Path | None = None
) -> None:
    """Refuse, before any work, a batch that would write over one of its own inputs: a
    pair's output naming any pair's source or driving video (or the pairs file), or a
    ``--report`` naming an input or an output. Never allowed, ``--overwrite`` or not."""
    inputs: dict[Path, str] = {}
    for pair in pairs:
        inputs.setdefault(_resolved(pair.source), f"source {pair.source}")
        inputs.setdefault(_resolved(pair.driving), f"driving video {pair.driving}")
    if pairs_file is not None:
        inputs[_resolved(pairs_file)] = f"pairs file {pairs_file}"
    for number, pair in enumerate(pairs, start=1):
        hit = inputs.get(_resolved(pair.output))
        if hit is not None:
            raise InputError(
                f"pair {number} would write {pair.output}, which is the {hit}; "
                "choose another output name"
            )
    if report is not None:
        target = _resolved(report)
        hit = inputs.get(target)
        if hit is not None:
            raise InputError(f"--report {report} is the {hit}; give another file name")
        for pair in pairs:
            if _resolved(pair.output) == target:
                raise InputError(
                    f"--report {report} is the output of a pair; give another file name"
                )


def _read_text(path: Path) -> str:
    """A pairs file's text: UTF-8 (with or without a BOM), else Windows-1252/Latin-1 as
    spreadsheet programs save CSV."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read pairs file {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def read_pairs_file(path: Path, base: Path, outdir: Path) -> list[Pair]:
    """Pairs from a CSV (``source,driving[,output]``, optional header) or a JSON list of
    objects/lists; relative paths are taken relative to ``base``."""
    if path.is_dir():
        raise InputError(f"pairs file {path} is a folder")
    text = _read_text(path)
    rows: list[list[str]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of pairs")
        for item in data:
            if isinstance(item, dict):
                rows.append(
                    [item.get("source", ""), item.get("driving", ""), item.get("output", "")]
                )
            elif isinstance(item, list):
                rows.append([str(x) for x in item])
            else:
                raise InputError(f"{path}: each pair must be an object or a list")
    else:
        rows = [row for row in csv.reader(text.splitlines()) if row and any(row)]
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["source", "driving"]:
            rows = rows[1:]
    pairs = []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0] or not row[1]:
            raise InputError(f"{path}: pair {number} needs a source and a driving path")
        source, driving = (base / row[0].strip()), (base / row[1].strip())
        output = row[2].strip() if len(row) > 2 and row[2] else output_name(source, driving)
        check_not_stdout(output, f"{path}: pair {number}'s output")
        if Path(output).is_absolute() or not _resolved(outdir / output).is_relative_to(
            _resolved(outdir)
        ):
            raise InputError(
                f"{path}: pair {number}'s output {output} is outside the output folder; "
                "give a name inside it"
            )
        pairs.append(Pair(source, driving, outdir / output))
    if not pairs:
        raise InputError(f"{path} lists no pairs")
    seen: dict[Path, int] = {}
    for number, pair in enumerate(pairs, start=1):
        # Compared resolved: sub/../same.mp4 is same.mp4.
        resolved = _resolved(pair.output)
        if resolved in seen:
            raise InputError(
                f"{path}: pairs {seen[resolved]} and {number} both write {pair.output.name}; "
                "give one of them an output name"
            )
        seen[resolved] = number
    return pairs


def check_report_path(path: Path) -> None:
    """Fail before any work if the ``--report`` file could not be written afterwards."""
    check_name_length(path)
    if path.is_dir():
        raise InputError(f"--report {path} is a folder; give a file name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError(f"--report {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--report {path}: folder {parent} is not writable")


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"I/N"`` → (I, N) with 0 ≤ I < N."""
    if spec is None:
        return None
    try:
        index, count = (int(x) for x in spec.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like I/N (e.g. 0/4), not '{spec}'") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {spec}: need 0 <= I < N")
    return index, count


def in_shard(pair: Pair, shard: tuple[int, int] | None) -> bool:
    """Stable assignment by a hash of the output name, so every worker of a job array
    agrees on the split whatever order it lists the files in."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(pair.output.name.encode()) % count == index


class BatchProgress:
    """What the batch loop tells its display."""

    def pair_started(self, index: int, total: int, pair: Pair) -> None: ...

    def pair_finished(self, result: PairResult) -> None: ...


def run_batch(
    pairs: list[Pair],
    options: AnimateOptions,
    animate: Callable[[Pair, AnimateOptions], int],
    *,
    fail_fast: bool = False,
    progress: BatchProgress | None = None,
    results: list[PairResult] | None = None,
) -> list[PairResult]:
    """Animate every pair with ``animate`` (which returns the frame count).

    Complete outputs, and outputs another run is writing at the moment (here or on another
    machine sharing the folder), are skipped unless ``options.overwrite``; a failing pair
    is recorded and the batch goes on, unless ``fail_fast``. Results are appended to
    ``results`` as they come, so an interrupted batch can still report the pairs it did.
    """
    progress = progress or BatchProgress()
    results = [] if results is None else results
    for index, pair in enumerate(pairs):
        progress.pair_started(index, len(pairs), pair)
        result = PairResult(str(pair.source), str(pair.driving), str(pair.output), "ok")
        started = time.perf_counter()
        try:
            check_name_length(pair.output)
            if not options.overwrite and (
                pair.output.exists() or has_live_temporaries(pair.output)
            ):
                result.status = "skipped"
            else:
                result.frames = animate(pair, options)
        except OutputExistsError:
            result.status = "skipped"  # another run finished it meanwhile
        except AnimateError as exc:
            result.status, result.error = "failed", str(exc)
        except KeyboardInterrupt:
            result.status, result.error = "failed", "interrupted"
            results.append(result)
            raise
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
        progress.pair_finished(result)
        if fail_fast and result.status == "failed":
            break
    return results


def animate_pair(runtime: Runtime, reporter: Reporter, pair: Pair, options: AnimateOptions) -> int:
    """One pair of a batch as a job on the shared ``runtime``, its output folder made
    first; returns the frames written."""
    from .runtime.job import AnimationJob

    try:
        pair.output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {pair.output.parent}: {exc.strerror or exc}") from None
    return (
        AnimationJob(runtime, options, reporter).run(pair.source, pair.driving, pair.output).frames
    )


def exit_code(results: list[PairResult]) -> int:
    return ExitCode.PARTIAL if any(r.status == "failed" for r in results) else ExitCode.OK


def write_report(path: Path, results: list[PairResult]) -> None:
    """The per-pair report as JSON, written atomically."""
    payload = {
        "pairs": [asdict(r) for r in results],
        "summary": {
            status: sum(r.status == status for r in results)
            for status in ("ok", "skipped", "failed")
        },
    }
    atomic_write_text(path, json.dumps(payload, indent=2))
