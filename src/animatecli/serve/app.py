"""The web page's HTTP side (Starlette): the page, job submission, live progress, files."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError
from .jobs import Job, JobState
from .service import FILE_FIELDS, WebService
from .settings import LOOPBACK_NAMES
from .uploads import UploadTooLarge, UploadTooSlow, receive_form, shown

STATIC_DIR = Path(__file__).parent / "static"
# How often an open progress stream looks at its job, and sends a keep-alive comment.
POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
# Everything the page loads comes from this server: the browser refuses anything else.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
# Requests that change nothing; every other method must come from this server's own page.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What Sec-Fetch-Site says for the page's own requests ("none": typed by the user).
OWN_FETCH_SITES = frozenset({"same-origin", "none"})
# An error answer is one line of at most this many characters.
MAX_ERROR_CHARS = 300


def _service(request: Request) -> WebService:
    return request.app.state.service


def _job(request: Request) -> Job | None:
    return _service(request).queue.get(request.path_params["job_id"])


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})


async def config(request: Request) -> Response:
    return JSONResponse(_service(request).config())


async def example(request: Request) -> Response:
    path = _service(request).examples.get(request.path_params["name"])
    if path is None:
        return JSONResponse({"error": "no such example"}, 404)
    return FileResponse(path)


async def submit(request: Request) -> Response:
    service = _service(request)
    job_id = secrets.token_urlsafe(12)
    folder = service.workspace.job_folder(job_id)
    try:
        form = await receive_form(
            dict(request.headers),
            request.stream(),
            folder,
            FILE_FIELDS,
            service.settings.max_upload_bytes,
            service.settings.upload_idle_seconds,
        )
        job = await run_in_threadpool(service.build_job, job_id, folder, form)
    except InputError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        status = 400
        if isinstance(exc, UploadTooLarge):
            status = 413
        elif isinstance(exc, UploadTooSlow):
            status = 408
        return JSONResponse({"error": _one_line(str(exc))}, status)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    service.queue.submit(job)
    service.watch_for_abandonment(job)
    return JSONResponse({"id": job.id}, 201)


def _one_line(message: str) -> str:
    """An error for the page: one line, never longer than `MAX_ERROR_CHARS`."""
    line = " ".join(message.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


async def events(request: Request) -> Response:
    """Server-sent events: the job's status whenever it changes, until the page leaves."""
    service = _service(request)
    job = _job(request)
    if job is None:
        return JSONResponse({"error": "no such job"}, 404)

    async def stream() -> AsyncIterator[str]:
        job.watchers += 1
        try:
            last: str | None = None
            quiet = 0.0
            while not service.stopping.is_set():
                text = json.dumps(service.status(job))
                if text != last:
                    yield f"data: {text}\n\n"
                    last, quiet = text, 0.0
                elif quiet >= KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet = 0.0
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS
        finally:
            job.watchers -= 1
            if job.watchers == 0 and not service.stopping.is_set():
                service.watch_for_abandonment(job)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def cancel(request: Request) -> Response:
    job = _job(request)
    if job is not None:
        _service(request).queue.discard(job)
    return Response(status_code=204)


async def output_file(request: Request) -> Response:
    job = _job(request)
    output = job.output(request.path_params["name"]) if job is not None else None
    if output is None or job is None or job.state is not JobState.DONE:
        return JSONResponse({"error": "no such file"}, 404)
    return FileResponse(output.path, media_type=output.media_type)


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOriginWrites:
    """Refuses (403) a state-changing request sent by another site's page.

    The rule, for every method but GET/HEAD/OPTIONS: an ``Origin`` header, when present,
    must be this server's own (``http://`` + the request's Host; ``null`` is refused), and a
    ``Sec-Fetch-Site`` header, when present, must say ``same-origin`` or ``none``. A request
    with neither header (curl, scripts) is not from a browser page and is let through;
    every browser sends ``Origin`` with a cross-site POST or DELETE.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            refusal = self._refusal(Request(scope))
            if refusal is not None:
                await JSONResponse({"error": refusal}, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(request: Request) -> str | None:
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
        if origin is not None and origin.lower() != own:
            return f"refused: a page from {shown(origin)} may not use this server"
        site = request.headers.get("sec-fetch-site")
        if site is not None and site.lower() not in OWN_FETCH_SITES:
            return f"refused: a {shown(site)} page may not use this server"
        return None


def create_app(service: WebService) -> Starlette:
    """The ASGI app of ``service``. On a loopback address only requests for a loopback
        host name are answered, so a web site cannot reach the server by DNS rebinding; on any
    address, only the server's own page may submit or cancel jobs (`SameOriginWrites`)."""
    middleware = [Middleware(SecurityHeaders), Middleware(SameOriginWrites)]
    if service.settings.is_loopback:
        hosts = [*LOOPBACK_NAMES, "127.0.0.1", "[::1]", service.settings.host]
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/config", config),
            Route("/api/examples/{name}", example),
            Route("/api/jobs", submit, methods=["POST"]),
            Route("/api/jobs/{job_id}", cancel, methods=["DELETE"]),
            Route("/api/jobs/{job_id}/events", events),
            Route("/api/jobs/{job_id}/files/{name}", output_file),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=middleware,
    )
    app.state.service = service
    return app
