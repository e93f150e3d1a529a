"""What every request passes through, folded into one wrapper around each route's handler.

In order: trusted forwarding headers (the client's address, scheme and host), the refusal of
cross-site posts, the rate limits, the handler, the mapping of domain errors to a status with a
JSON body (or a page, for browsers), JSON for every answer under /api/ (aiohttp's own 404, 405
and 413 included), `nosniff` and a referrer policy on every answer, and finally the request's
count and time in the metrics, with the status all of that settled on (499 when the client went
away first: its connection's loss is no fault of refbin's, so it is neither logged as one nor
counted as a 5xx).

This is not an aiohttp middleware on purpose: aiohttp runs a middleware as one more coroutine
per layer, plus one of its own for any app with middlewares, and seven layers cost as much CPU
as everything else a redirect does (bench/analysis.md). One function per route does the same
work with none of that, and knows its route's metrics label without looking it up. Requests no
route takes reach `unmatched` (a catch-all route registered last), so 404 and 405 pass through
here too.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from multidict import CIMultiDict

from bot.errors import Forbidden, RefbinError
from bot.service import ContentService
from bot.web.csrf import SAFE_METHODS, is_cross_site
from bot.web.errors import (
    error_page,
    error_response,
    http_error_as_json,
    json_error,
    not_found_page,
)
from bot.web.limits import BUCKETS, client_key
from bot.web.metrics import UNMATCHED, Metrics
from bot.web.proxy import TrustedProxies, forwarded_of
from bot.web.session import fill_account_slot
from bot.web.templating import wants_html
from bot.web.types import Handler

log = logging.getLogger(__name__)

# Routes the rate limits leave alone: probes, scrapes and the site's own assets.
UNLIMITED_ROUTES = frozenset({"/healthz", "/metrics", "/static/{name}"})
CROSS_SITE = "Cross-site requests are refused; post from this site's own pages."
API_PREFIX = "/api/"


class Guard:
    """Wraps each route's handler (see the module's docstring)."""

    def __init__(self, service: ContentService, metrics: Metrics, trusted: TrustedProxies) -> None:
        self.service = service
        self.metrics = metrics
        self.trusted = trusted

    def wrap(self, handler: Handler, label: str) -> Handler:
        """`handler` behind the guard; `label` is its route's pattern, as metrics name it."""
        service, observe = self.service, self.metrics.requests.observe
        trusted = self.trusted if self.trusted else None
        limiter = service.rate_limiter
        limited = label not in UNLIMITED_ROUTES
        # The catch-all decides per request; every other route is under /api/ or is not.
        api_route: bool | None = None if label == UNMATCHED else label.startswith(API_PREFIX)

        async def guarded(request: web.Request) -> web.StreamResponse:
            if trusted is not None:
                request = _forwarded(trusted, request)
            started = time.perf_counter()
            method = request.method
            in_api = request.path.startswith(API_PREFIX) if api_route is None else api_route
            status = 500
            try:
                try:
                    if method not in SAFE_METHODS and is_cross_site(request):
                        raise Forbidden(CROSS_SITE)
                    if limited:
                        bucket = BUCKETS.get(method, "read")
                        if limiter.per_minute.get(bucket, 0) > 0:
                            limiter.check(bucket, client_key(request))
                    response = await handler(request)
                except RefbinError as error:
                    if not in_api and wants_html(request):
                        response = error_page(request, error)
                    else:
                        response = error_response(error)
                except web.HTTPException as exc:
                    if in_api and exc.status >= 400 and exc.content_type != "application/json":
                        response = http_error_as_json(exc)
                    elif exc.status == 404 and not in_api and wants_html(request):
                        response = not_found_page(request)
                    else:
                        raise
                except ConnectionError:
                    if request.transport is not None:
                        raise  # a connection of ours failed, not the client's
                    # The client went away (an upload cut short): its doing, not an outage.
                    log.debug("%s %s: the client went away", method, request.path)
                    response = web.Response(status=499)  # never sent: there is no one to tell
                except Exception:
                    if not in_api:
                        raise
                    log.exception("unexpected error in %s %s", method, request.path)
                    response = json_error(500, "internal", "Something went wrong on our side.")
                if not in_api and response.content_type == "text/html":
                    await fill_account_slot(request, response)  # the header: who is signed in
                if in_api:
                    response.headers.setdefault("Cache-Control", "no-store")
                _secure(response.headers)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                _secure(exc.headers)
                raise
            except asyncio.CancelledError:
                status = 499  # the client went away first
                raise
            finally:
                observe(method, label, status, time.perf_counter() - started)

        return guarded


def _secure(headers: CIMultiDict[str]) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")


def _forwarded(trusted: TrustedProxies, request: web.Request) -> web.Request:
    """The request as the client sent it to the trusted proxy in front of us."""
    forwarded = forwarded_of(trusted, request)
    if forwarded is None:
        return request
    changes: dict[str, str] = {"remote": forwarded.client}
    if forwarded.scheme is not None:
        changes["scheme"] = forwarded.scheme
    if forwarded.host is not None:
        changes["host"] = forwarded.host
    return request.clone(**changes)


async def unmatched(request: web.Request) -> web.StreamResponse:
    """The catch-all route's handler: 405 (with Allow) when another route has the path for
    other methods, else 404; the guard turns either into JSON or a page like any refusal."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is request.match_info.route.resource:
            continue
        _, methods = await resource.resolve(request)
        allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()
