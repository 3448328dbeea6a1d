"""Running the web page: bind the socket, serve until Ctrl-C, then leave nothing behind."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from ..errors import InputError
from ..reporting import stderr_console
from .app import create_app
from .service import WebService
from .settings import ServeSettings

# Seconds uvicorn waits for open connections after Ctrl-C (progress streams end at once).
GRACEFUL_SECONDS = 5


class _Server(uvicorn.Server):
    """uvicorn, told when a stop begins; a stop is the normal end, so the signal is not
    raised again once the server is down (uvicorn's default)."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None], url: str):
        super().__init__(config)
        self._on_stop = on_stop
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # Said once the server answers and Ctrl-C is ours to handle.
        stderr_console.print(
            f"animate serve: open {self._url} in a browser (Ctrl-C stops)", highlight=False
        )

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_stop()
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for connections
        else:
            self.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), or a one-line error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def run(settings: ServeSettings) -> None:
    """Serve the page until Ctrl-C (or SIGTERM); the private folder is removed after."""
    settings.validate()
    sock = bind(settings.host, settings.port)
    try:
        service = WebService(settings)
    except BaseException:
        sock.close()
        raise
    try:
        if not settings.is_loopback:
            stderr_console.print(
                f"[yellow]warning:[/] listening on {settings.host}, not only this machine: "
                "anyone who can reach it can use this page and its model",
                highlight=False,
            )
        config = uvicorn.Config(
            create_app(service),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            lifespan="off",
        )
        _Server(config, on_stop=service.stop, url=url_of(sock)).run(sockets=[sock])
    finally:
        service.close()
        sock.close()
    stderr_console.print("stopped; temporary files removed", highlight=False)
