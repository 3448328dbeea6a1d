"""``animate models``: the released FOMM/TPSMM checkpoints and the face-alignment weights:
list, fetch (verified, resumable), add a file you have, path, rm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..reporting import stderr_console
from .app import app, emit_json, user_errors
from .declarations import JsonOpt, QuietOpt

models_app = typer.Typer(
    help="Released FOMM/TPSMM checkpoints and the face-alignment weights: list, fetch "
    "(verified, resumable), add a file you have, path, rm. Exit codes: 0 ok, 1 download "
    "failed, 2 unknown name, bad file or not cached, 130 interrupted (the partial download "
    "is kept and resumed next time).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
ModelNamesArg = Annotated[
    list[str],
    typer.Argument(
        help="Catalogue names (see `animate models list`) or face-alignment.",
        show_default=False,
    ),
]


@models_app.command("list")
def models_list_command(json_output: JsonOpt = False) -> None:
    """The catalogue: each model's size, licence, training data, and if it is cached."""
    from ..store import list_models, render_list

    with user_errors():
        states = list_models()
    if json_output:
        from ..catalogue import models_dir

        emit_json({"cache": str(models_dir()), "models": [s.to_dict() for s in states]})
    else:
        from rich.console import Console

        render_list(states, Console())


@models_app.command("fetch")
def models_fetch_command(
    names: ModelNamesArg,
    from_url: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="URL",
            help="Download one model from this URL instead of the mirrors (still verified "
            "by its SHA-256).",
        ),
    ] = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Download models into the cache (resumable, verified by SHA-256).

    Mirror after mirror until one gives the right file; written atomically."""
    from ..reporting import DownloadReporter
    from ..store import fetch_models

    reporter = DownloadReporter(show_progress=not (quiet or json_output))
    with user_errors():
        results = fetch_models(names, reporter, from_url=from_url)
    if json_output:
        payload = [r.to_dict() for r in results]
        emit_json(payload[0] if len(payload) == 1 else {"models": payload})
    elif not quiet:
        for result in results:
            for f in result.files:
                stderr_console.print(
                    f"[green]{f.status}[/] {result.name}: {f.path} ({f.size / 2**20:.1f} MiB)",
                    highlight=False,
                )


@models_app.command("add")
def models_add_command(
    files: Annotated[list[Path], typer.Argument(help="Checkpoint files downloaded by hand.")],
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Put checkpoint files you downloaded by hand in the cache.

    Recognised by SHA-256; a hard link or reflink where possible, else a copy; your file
    is left as is."""
    from ..store import add_files

    with user_errors():
        results = add_files(files)
    if json_output:
        emit_json({"added": [r.to_dict() for r in results]})
    elif not quiet:
        for r in results:
            stderr_console.print(
                f"[green]added[/] {r.source} as {r.name} ({r.placed}): {r.path}", highlight=False
            )


@models_app.command("path")
def models_path_command(
    name: Annotated[str, typer.Argument(help="A catalogue name.")],
) -> None:
    """Print the cached file of NAME (exit 2 if it is not cached)."""
    from ..store import model_path

    with user_errors():
        path = model_path(name)
    typer.echo(str(path))


@models_app.command("rm")
def models_rm_command(
    name: Annotated[str, typer.Argument(help="A catalogue name.")],
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Delete NAME's cached file and any partial download."""
    from ..store import remove_model

    with user_errors():
        result = remove_model(name)
    if json_output:
        emit_json(result.to_dict())
    elif not quiet:
        what = ", ".join(str(p) for p in result.removed) or "nothing was cached"
        stderr_console.print(f"removed {name}: {what}", highlight=False)
