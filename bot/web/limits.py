"""Rate limits on the web: POSTs create, DELETEs delete, GETs read; per owner or per address."""

from __future__ import annotations

from aiohttp import web

from bot.proxy import client_ip
from bot.web.keys import SERVICE_KEY
from bot.web.types import Handler

BUCKETS = {"POST": "create", "PUT": "create", "PATCH": "create", "DELETE": "delete"}
UNLIMITED_PATHS = frozenset({"/healthz", "/metrics"})


def client_key(request: web.Request) -> str:
    """Who to count a request against: the bearer token's holder, else the client address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and len(header) > 7:
        # The token itself is the key here (hashed by the limiter's dict, never stored):
        # resolving it to an owner would cost a query before the limit could refuse anything.
        return "token:" + header[7:].strip()[:64]
    return "ip:" + client_ip(request)


@web.middleware
async def rate_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in UNLIMITED_PATHS and not request.path.startswith("/static/"):
        bucket = BUCKETS.get(request.method, "read")
        request.app[SERVICE_KEY].check_rate(bucket, client_key(request))
    return await handler(request)
