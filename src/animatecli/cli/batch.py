"""``animate batch``: every pair of a folder (or a pairs file), resumable and shardable."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import catalogue
from ..options import ModelOptions
from ..reporting import stderr_console
from ..runtime.preflight import check_encoder
from ..words import counted
from .app import app, emit_json, user_errors
from .declarations import JobOptions, with_job_options


@app.command("batch")
@with_job_options
def batch_command(
    folder: Annotated[Path, typer.Argument(help="Folder of source images and driving videos.")],
    outdir: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Output folder \\[default: FOLDER/animated/].",
            show_default=False,
        ),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs", help="CSV or JSON of source,driving[,output] instead of all pairs."
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option("--shard", metavar="I/N", help="Process only share I of N (0-based)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report of every pair.")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first error.")
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=256,
            help="Worker processes, each with its own model; the CPU threads are split "
            "between them.",
        ),
    ] = 1,
    *,
    job: JobOptions,
) -> None:
    """Animate every image x video pair in FOLDER (resumable; see README for sharding)."""
    from .. import batch

    target = outdir or folder / "animated"
    results: list[batch.PairResult] = []
    with user_errors():
        # Every input and the report's place are checked before the model stack loads.
        batch.check_output_folder_usable(target)
        if pairs is not None:
            listed = batch.read_pairs_file(pairs, pairs.parent, target)
        else:
            listed = batch.folder_pairs(folder, target)
        selected = [p for p in listed if batch.in_shard(p, batch.parse_shard(shard))]
        if report is not None:
            batch.check_report_path(report)
        # All listed pairs, not only this shard's: another shard's output is an input too.
        batch.check_writes_spare_inputs(listed, report, pairs)
        check_encoder(job.animate, job.model.device, [pair.output for pair in selected])
        batch.make_output_folder(target)
        from ..reporting import BatchDisplay
        from ..runtime.runtime import Runtime

        display = BatchDisplay(show_progress=not job.json_output, quiet=job.quiet)
        try:
            if jobs > 1 and len(selected) > 1:
                from ..batch_workers import run_parallel

                run_parallel(
                    selected,
                    _checked_file(job.model),
                    job.animate,
                    jobs,
                    fail_fast=fail_fast,
                    progress=display,
                    reporter_for=display.worker_reporter,
                    results=results,
                )
            else:
                runtime = Runtime(job.model)
                runtime.check(job.animate)
                batch.run_batch(
                    selected,
                    job.animate,
                    functools.partial(batch.animate_pair, runtime, display),
                    fail_fast=fail_fast,
                    progress=display,
                    results=results,
                )
        finally:
            display.close()
            if report is not None:
                batch.write_report(report, results)  # also for an interrupted batch
    render_batch(results, len(selected), len(listed), job)
    code = batch.exit_code(results)
    if code:
        raise typer.Exit(code)


def render_batch(results: list[Any], selected: int, listed: int, job: JobOptions) -> None:
    """The batch's per-pair table and counts on stderr, or its JSON on stdout."""
    from rich.table import Table

    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "failed")}
    if job.json_output:
        emit_json({"pairs": [vars(r) for r in results], "summary": counts})
        return
    if job.quiet:
        return
    table = Table(title=f"batch: {selected} of {counted(listed, 'pair')} in this shard")
    for column in ("source", "driving", "status", "seconds", "error"):
        table.add_column(column)
    for r in results:
        style = {"ok": "green", "skipped": "dim", "failed": "red"}[r.status]
        table.add_row(
            Path(r.source).name,
            Path(r.driving).name,
            f"[{style}]{r.status}",
            f"{r.seconds:.1f}",
            r.error or "",
        )
    stderr_console.print(table)
    stderr_console.print(
        f"{counts['ok']} done, {counts['skipped']} skipped, {counts['failed']} failed",
        highlight=False,
    )


def _checked_file(model: ModelOptions) -> ModelOptions:
    """``model`` with a ``--checkpoint`` catalogue name replaced by its cached file (checked
    before any work): the workers, fresh interpreters, load the very file checked here."""
    given = model.checkpoint
    entry = catalogue.find(str(given)) if given is not None else None
    if entry is None or Path(str(given)).exists():
        return model
    return dataclasses.replace(model, checkpoint=catalogue.cached_path(entry))
