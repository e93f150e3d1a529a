"""Rate limits on the web: POSTs create, DELETEs delete, GETs read; per owner or per address."""

from __future__ import annotations

from aiohttp import web

from bot.web.bearer import bearer_token
from bot.web.keys import service_of
from bot.web.proxy import client_ip

BUCKETS = {"POST": "create", "PUT": "create", "PATCH": "create", "DELETE": "delete"}


def client_key(request: web.Request) -> str:
    """Who to count a request against: the bearer token's holder, else the client address."""
    token = bearer_token(request)
    # The token itself is the key here (hashed by the limiter's dict, never stored), once this
    # process has seen it open an owner: resolving it now would cost a query before the limit
    # could refuse anything, and an invented token would otherwise be a fresh bucket each time.
    if token and service_of(request).is_known_token(token):
        return "token:" + token[:64]
    return "ip:" + client_ip(request)
