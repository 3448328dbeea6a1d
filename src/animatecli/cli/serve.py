"""``animate serve``: the local web page."""

from __future__ import annotations

from typing import Annotated

import typer

from ..serve import ServeSettings
from .app import app, user_errors
from .declarations import CheckpointOpt, DeviceOpt


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (a non-loopback one warns).")
    ] = ServeSettings.host,
    port: Annotated[
        int, typer.Option("--port", help="Port (0: any free port).")
    ] = ServeSettings.port,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Largest upload per job (photo + video).")
    ] = ServeSettings.max_upload_mb,
    max_video_seconds: Annotated[
        float, typer.Option("--max-video-seconds", help="Longest video accepted.")
    ] = ServeSettings.max_video_seconds,
    checkpoint: CheckpointOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Serve a local web page that animates photos and cuts face clips (Ctrl-C stops)."""
    from .. import catalogue
    from ..serve import serve

    with user_errors():
        catalogue.require_cached(checkpoint)
    settings = ServeSettings(
        host=host,
        port=port,
        max_upload_mb=max_upload_mb,
        max_video_seconds=max_video_seconds,
        checkpoint=checkpoint,
        device=device,
    )
    with user_errors():
        serve(settings)
