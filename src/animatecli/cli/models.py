"""``animate models``: optional model weights, downloaded on request."""

from __future__ import annotations

from typing import Annotated

import typer

from ..reporting import stderr_console
from .app import app, emit_json, user_errors
from .declarations import JsonOpt, QuietOpt

models_app = typer.Typer(
    help="Optional model weights: download them on request.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("fetch")
def models_fetch_command(
    model: Annotated[str, typer.Argument(help="What to fetch: face-alignment.")],
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Download MODEL's weights into their cache (verified by SHA-256, written atomically)."""
    from ..downloads import fetch
    from ..reporting import DownloadReporter

    reporter = DownloadReporter(show_progress=not (quiet or json_output))
    with user_errors():
        results = fetch(model, reporter)
    if json_output:
        emit_json({"model": model, "files": [{**vars(r), "path": str(r.path)} for r in results]})
    elif not quiet:
        for r in results:
            stderr_console.print(
                f"[green]{r.status}[/] {r.path} ({r.size / 2**20:.1f} MiB)", highlight=False
            )
