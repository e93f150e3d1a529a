"""Refusing cross-site form posts: a page elsewhere must not make a visitor's browser act here.

Browsers say where a request comes from (Origin, and Sec-Fetch-Site in modern ones); curl,
ShareX and other programs send neither, so they are unaffected. A request with a bearer token
is not at risk either: a browser never adds one on its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.web.bearer import bearer_token
from bot.web.keys import service_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_cross_site(request: web.Request) -> bool:
    """Whether a state-changing request was started by another site's page."""
    if bearer_token(request):
        return False
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return not _own_origin(origin, request)


def _own_origin(origin: str, request: web.Request) -> bool:
    """The public URL's origin, or the host the request was sent to (a direct connection)."""
    if origin == "null":  # sandboxed frames, some redirects: never us
        return False
    base = urlsplit(service_of(request).settings.server.base_url)
    parts = urlsplit(origin.strip().lower())
    if (parts.scheme, parts.netloc) == (base.scheme, base.netloc.lower()):
        return True
    # A page served straight by this process (not through the public URL) posts to the same
    # Host it was loaded from; another site cannot choose the Host a browser sends here.
    return parts.scheme in ("http", "https") and parts.netloc == request.host.lower()
