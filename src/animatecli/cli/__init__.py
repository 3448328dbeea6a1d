"""The ``animate`` command line: the app (`app`), the option declarations
(`declarations`), and one module per command, each rendering its own results.

Start-up stays fast: nothing here imports torch or the model stack. Every option is
parsed and validated, and help is printed, before a command imports what it runs.
Importing this package registers every command on `app`.
"""

# In the order `animate --help` lists them.
from . import run, crop, batch, upscale, verify, doctor, models, eval, serve  # noqa: F401, I001
from .app import app, main

__all__ = ["app", "main"]
