"""Running the web page: bind the socket, serve until Ctrl-C, then leave nothing behind."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
from collections.abc import Callable
from types import FrameType

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import InputError
from ..reporting import stderr_console
from .app import create_app
from .service import WebService
from .settings import ServeSettings

# Seconds uvicorn waits for open connections after Ctrl-C (progress streams end at once).
GRACEFUL_SECONDS = 5
# An idle kept-alive connection is closed after this many seconds.
KEEP_ALIVE_SECONDS = 5
# A request line and headers larger than this are refused (the page's are under 2 KB).
MAX_REQUEST_HEAD_BYTES = 16 * 1024
# Open connections beyond this are answered 503 at once instead of piling up.
MAX_CONNECTIONS = 64


class _TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline on the request head: a connection that has
    not sent a complete request line and headers ``head_seconds`` after it opened (or after
    the first byte of its next request) is closed. uvicorn times out only idle kept-alive
    connections; a client trickling its headers would hold a socket for ever."""

    head_seconds: float = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


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
            f"animate serve: open {self._url} in a browser (Ctrl-C stops)",
            highlight=False,
            soft_wrap=True,
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
    except UnicodeError:  # the IDNA codec refuses the name (an empty or overlong label)
        raise InputError(f"--host {host!r} is not a valid host name or address") from None
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
    """The address to open in a browser on this machine. A socket on every address (0.0.0.0
    or ::) has no address a browser can open: the loopback address stands in for it."""
    host, port = sock.getsockname()[:2]
    if ipaddress.ip_address(host.split("%")[0]).is_unspecified:
        host = "127.0.0.1" if sock.family == socket.AF_INET else "::1"
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
            if ipaddress.ip_address(sock.getsockname()[0].split("%")[0]).is_unspecified:
                stderr_console.print(
                    f"from other machines: http://{socket.gethostname()}:{sock.getsockname()[1]}/",
                    highlight=False,
                    soft_wrap=True,
                )
        config = uvicorn.Config(
            create_app(service),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            lifespan="off",
            http=type(
                "_Http", (_TimedH11Protocol,), {"head_seconds": settings.upload_idle_seconds}
            ),
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
            limit_concurrency=MAX_CONNECTIONS,
        )
        _Server(config, on_stop=service.stop, url=url_of(sock)).run(sockets=[sock])
    finally:
        service.close()
        sock.close()
    stderr_console.print("stopped; temporary files removed", highlight=False)
