"""The aiohttp application factory, its middlewares and the mapping of domain errors to HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.db import BACKEND_DOWN
from bot.errors import (
    Blocked,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PasswordRequired,
    RateLimited,
    RefbinError,
    StorageFull,
    TimedOut,
    TooLarge,
    Unavailable,
    Unprocessable,
)
from bot.proxy import forwarded_headers
from bot.runtime import Runtime
from bot.service import ContentService
from bot.web import api, csrf, items, limits, pages, raw, sharex
from bot.web.keys import RUNTIME_KEY, SERVICE_KEY
from bot.web.metrics import count_requests, setup_metrics

log = logging.getLogger(__name__)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Most specific first: the first matching class decides the status.
STATUS_FOR_ERROR: tuple[tuple[type[RefbinError], int], ...] = (
    (Unprocessable, 422),
    (Invalid, 400),
    (NotFound, 404),
    (Gone, 410),
    (PasswordRequired, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (TooLarge, 413),
    (RateLimited, 429),
    (TimedOut, 408),
    (Blocked, 451),
    (StorageFull, 507),
    (Unavailable, 503),
)


def status_for(error: RefbinError) -> int:
    for cls, status in STATUS_FOR_ERROR:
        if isinstance(error, cls):
            return status
    return 400


def error_response(error: RefbinError) -> web.Response:
    """A domain error as a JSON body with its status: {"error": {"code", "message"}}."""
    body = {"error": {"code": error.code, "message": error.message}}
    response = web.json_response(body, status=status_for(error), dumps=json.dumps)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, TooLarge | TimedOut):
        # The rest of the body is not read: close the connection rather than drain it.
        response.force_close()
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RefbinError as error:
        if pages.wants_error_page(request):
            return pages.error_page(request, error, status_for(error))
        return error_response(error)
    except web.HTTPNotFound:
        if pages.wants_error_page(request):
            return pages.error_page(request, None, 404)
        raise
    except BACKEND_DOWN as exc:
        # Fail fast and say so; the pool reconnects by itself once PostgreSQL is back.
        log.warning("backend unavailable: %r", exc)
        return error_response(
            Unavailable("The database or storage is unavailable; try again shortly.")
        )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.setdefault("X-Content-Type-Options", "nosniff")
        raise
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def create_app(runtime: Runtime) -> web.Application:
    """The refbin web application over an open runtime."""
    # Forms read whole (URL-encoded pastes) may be as large as a paste; uploads stream instead.
    app = web.Application(
        middlewares=[
            # First: everything after it sees the client's address, scheme and host.
            forwarded_headers(runtime.settings.server.trusted_proxies),
            count_requests,  # sees the status the middlewares below settle on
            security_headers,
            api.json_errors,
            error_middleware,
            csrf.refuse_cross_site,
            limits.rate_limits,
        ],
        client_max_size=runtime.settings.limits.paste + 64 * 1024,
    )
    app[RUNTIME_KEY] = runtime
    app[SERVICE_KEY] = runtime.service
    app.router.add_get("/healthz", healthz)
    setup_metrics(app)
    api.add_routes(app)
    raw.add_routes(app)
    sharex.add_routes(app)
    pages.add_routes(app)  # before items: `/{id}+` and `/oembed` would match `/{content_id}`
    items.add_routes(app)
    return app


async def healthz(request: web.Request) -> web.Response:
    service: ContentService = request.app[SERVICE_KEY]
    try:
        await service.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check failed: %s", exc)
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})
