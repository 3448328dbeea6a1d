"""The ``animate`` entry point; ``python -m animatecli`` behaves exactly like it.

The command's modules are imported inside `main`, so a Ctrl-C or SIGTERM that arrives
while they load still ends with one line and its exit code instead of a traceback.
"""

from __future__ import annotations

import signal
import sys

from animatecli.memory import request_huge_pages


def main() -> None:
    """Console-script entry point."""

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(143)

    # Until the CLI installs its own handlers (which clean up outputs), a signal only has
    # to end the process with its one line.
    signal.signal(signal.SIGTERM, terminated)
    # Before torch loads: PyTorch reads the setting once (`memory.request_huge_pages`).
    request_huge_pages()
    try:
        from animatecli.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except SystemExit:
        sys.stderr.write("error: terminated\n")
        raise
    cli_main()


if __name__ == "__main__":
    main()
