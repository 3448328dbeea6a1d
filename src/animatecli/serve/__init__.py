"""``animate serve``: a local web page over the CLI's own pipeline.

Needs the ``web`` extra (``pip install 'animatecli[web]'``: Starlette, uvicorn,
python-multipart). The page, its script and its style ship in ``static/``; nothing is
fetched from anywhere else.
"""

from __future__ import annotations

from ..errors import InputError
from .settings import ServeSettings

__all__ = ["ServeSettings", "serve"]


def serve(settings: ServeSettings) -> None:
    """Serve the web page until Ctrl-C (see `server.run`)."""
    try:
        from .server import run
    except ImportError as exc:
        raise InputError(
            f"animate serve needs the web extra ({(exc.name or '?').split('.')[0]} is missing): "
            "pip install 'animatecli[web]'"
        ) from None
    run(settings)
