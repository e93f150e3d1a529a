"""The caller's API token (`Authorization: Bearer <token>`), read here for every route."""

from __future__ import annotations

from aiohttp import web

from bot.errors import Unauthenticated
from bot.service import ContentService
from bot.web.keys import service_of

UNKNOWN_BEARER = "The API token is not valid (or was revoked)."
MISSING_BEARER = "This needs an API token: `Authorization: Bearer <token>`."


def bearer_token(request: web.Request) -> str | None:
    """The token of a bearer Authorization header ('' for an empty one); None without one.
    Other schemes (a proxy's Basic auth) are not ours and are ignored."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


async def owner_of_token(service: ContentService, token: str) -> int:
    """The owner the token stands for; Unauthenticated for an unknown or revoked one."""
    owner_id = await service.owner_for_api_token(token) if token else None
    if owner_id is None:
        raise Unauthenticated(UNKNOWN_BEARER)
    return owner_id


async def bearer_owner(request: web.Request) -> int | None:
    """The owner the request's bearer token stands for; None without one; Unauthenticated
    for a bad one."""
    token = bearer_token(request)
    if token is None:
        return None
    return await owner_of_token(service_of(request), token)


async def required_owner(request: web.Request) -> int:
    """As bearer_owner, but a request without a token is refused too."""
    owner_id = await bearer_owner(request)
    if owner_id is None:
        raise Unauthenticated(MISSING_BEARER)
    return owner_id
