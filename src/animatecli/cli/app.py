"""The ``animate`` application: the command group, its help, and the one place where a
failure becomes one line on stderr and its exit code.

``animate SOURCE DRIVING [-o OUT]`` is the default command (``animate run``); a file
literally named like a subcommand is animated with ``animate run crop driving.mp4`` or
``animate -- crop driving.mp4``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from .. import __version__
from ..errors import AnimateError, ExitCode
from ..interrupts import Terminated, recording_interrupts, terminate_like_interrupt
from ..reporting import QuietReporter, RichReporter, stderr_console, stop_live_displays

DEFAULT_COMMAND = "run"
# Options of the top-level group itself; any other leading option belongs to ``run``.
GROUP_OPTIONS = ("--version", "-h", "--help")


def fail(message: str, code: int) -> typer.Exit:
    """Print the one-line error every failure becomes, and the exit to raise."""
    one_line = " ".join(message.split())
    stop_live_displays()  # a live bar would redraw itself below the error otherwise
    # Escaped: a message is plain text, and "[web]" in one must not be read as markup.
    stderr_console.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class DefaultCommandGroup(TyperGroup):
    """Routes ``animate SOURCE DRIVING`` (options anywhere) to the ``run`` subcommand, and
    turns every usage error into one line on stderr instead of a boxed message."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args:
            typer.echo(ctx.get_help())
            raise typer.Exit(ExitCode.USAGE)
        if args[0] == "--":
            # The two names after "--" are SOURCE and DRIVING whatever they look like
            # ("crop", "-dash.png"); options may follow them as usual.
            files, rest = args[1:3], args[3:]
            args = [DEFAULT_COMMAND, *rest, "--", *files]
        elif args[0] not in self.commands and args[0] not in GROUP_OPTIONS:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            code = fail("interrupted", ExitCode.INTERRUPTED).exit_code
        except typer.TyperException as exc:  # Typer's usage errors: bad option, value, file
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            message = getattr(exc, "format_message", exc.__str__)()
            code = fail(f"{message}{hint}", ExitCode.USAGE).exit_code
        code = code if isinstance(code, int) else ExitCode.OK
        if standalone_mode:
            sys.exit(code)
        return code

    # Commands turn interrupts into messages themselves; these two cover the moments
    # before and after (Typer would otherwise exit 130 without a word).
    def make_context(self, *args: Any, **kwargs: Any) -> typer.Context:
        with user_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        with user_errors():
            return super().invoke(ctx)


HELP = """Animate a still image with the motion of a driving video (FOMM or TPSMM models).

[bold]Usage:[/]

  animate SOURCE DRIVING [-o OUT] [OPTIONS]   animate a photo (same as [bold]animate run[/])

  animate crop VIDEO [-o DIR]                 cut face clips out of a video

  animate batch FOLDER [-o DIR]               animate every image x video pair in a folder

  animate upscale INPUT -o OUT [--scale 4]     sharpen any image or video (Real-ESRGAN)

  animate verify FILE...                      is it marked AI-generated? (credentials, watermark)

  animate doctor                              check torch, CUDA, ffmpeg, the model, face backends

  animate models list | fetch NAME | add FILE  real FOMM/TPSMM models (e.g. fomm-vox)

  animate eval                                score the model on held-out synthetic videos

  animate serve [--port 7860]                 a local web page (pip install 'animatecli\\[web]')

Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 3 no face found,
4 some batch pairs failed, 5 verify: not marked, 6 verify: tampered,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

app = typer.Typer(
    cls=DefaultCommandGroup,
    help=HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"animatecli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Animate a still image with the motion of a driving video."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and a documented exit code."""
    try:
        with recording_interrupts():
            yield
    except AnimateError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except Terminated:
        raise fail("terminated", ExitCode.TERMINATED) from None
    except KeyboardInterrupt:
        raise fail("interrupted", ExitCode.INTERRUPTED) from None


def make_reporter(quiet: bool, json_output: bool) -> RichReporter:
    if quiet:
        return QuietReporter()
    return RichReporter(show_progress=not json_output)


def emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, default=str))


def main() -> None:
    """Run the ``animate`` command (see ``animatecli.__main__`` for the entry point)."""
    terminate_like_interrupt()
    try:
        app(prog_name="animate")
    except Terminated:  # while Typer builds the command, before any handler of ours
        sys.exit(fail("terminated", ExitCode.TERMINATED).exit_code)
    except KeyboardInterrupt:
        sys.exit(fail("interrupted", ExitCode.INTERRUPTED).exit_code)
