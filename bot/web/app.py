"""The aiohttp application factory: every route, each behind the guard (bot/web/guard.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import hdrs, web

from bot.service import ContentService
from bot.web import (
    account_pages,
    admin,
    api,
    auth,
    dashboard,
    home,
    item_pages,
    items,
    metrics,
    raw,
    sharex,
    templating,
)
from bot.web.guard import Guard, unmatched
from bot.web.keys import SERVICE_KEY
from bot.web.metrics import UNMATCHED, setup_metrics
from bot.web.proxy import TrustedProxies

log = logging.getLogger(__name__)

GUARD_KEY = web.AppKey("guard", Guard)


async def healthz(request: web.Request) -> web.Response:
    service: ContentService = request.app[SERVICE_KEY]
    try:
        await service.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check failed: %s", exc)
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


# The router tries the routes whose first path segment is a variable in this order: the item's
# own address (the hot path: a redirect) first. Fixed paths (`/oembed`, `/api/…`) are found by
# their prefix before any of these, and nothing here overlaps, so the order is only for speed.
ROUTES: tuple[web.RouteDef, ...] = (
    *items.ROUTES,
    *api.ROUTES,
    *raw.ROUTES,
    *item_pages.ROUTES,
    *home.ROUTES,
    *templating.ROUTES,
    *sharex.ROUTES,
    *auth.ROUTES,  # sign-in with Discord, then the signed-in pages: /me, /admin
    *dashboard.ROUTES,
    *account_pages.ROUTES,
    *admin.ROUTES,
    *metrics.ROUTES,
    web.get("/healthz", healthz),
)


def create_app(service: ContentService) -> web.Application:
    """The refbin web application in front of an open content service."""
    settings = service.settings
    # Forms read whole (URL-encoded pastes) may be as large as a paste; uploads stream instead.
    app = web.Application(client_max_size=settings.limits.paste + 64 * 1024)
    app[SERVICE_KEY] = service
    templating.setup(app)
    guard = Guard(service, setup_metrics(app), TrustedProxies(settings.server.trusted_proxies))
    app[GUARD_KEY] = guard
    add_routes(app, ROUTES)
    # Last: what no route takes still gets a JSON or page 404/405, and is counted.
    resource = app.router.add_resource("/{path:.*}")
    resource.add_route(hdrs.METH_ANY, guard.wrap(unmatched, UNMATCHED))
    return app


def add_routes(app: web.Application, routes: Iterable[web.RouteDef]) -> None:
    """Register routes, each behind the app's guard. After create_app, only fixed paths: a
    pattern whose first segment is a variable would come after the catch-all."""
    guard = app[GUARD_KEY]
    for route in routes:
        resource = app.router.add_resource(route.path)
        handler = guard.wrap(route.handler, resource.canonical)  # type: ignore[arg-type]
        if route.method == hdrs.METH_GET and route.kwargs.get("allow_head", True):
            resource.add_route(hdrs.METH_HEAD, handler)
        resource.add_route(route.method, handler)
