"""Opening password-protected items on the web: a signed, short-lived cookie per item.

Browsers cannot send X-Password on a plain link, so the password is asked once by a form and
proven afterwards by a cookie: `<expiry>.<HMAC(key, content_id | expiry)>`, with the key derived
from the instance secret. Its Path is the item's own (`/{id}`), so it travels with the page,
`/{id}/raw` and `/{id}/thumb` and nowhere else; the MAC binds it to the item, so it opens no
other one even if copied. Nothing about the password itself is ever in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from aiohttp import web

from bot.models import Item, Visit
from bot.service import ContentService
from bot.web.keys import SERVICE_KEY

UNLOCK_COOKIE = "refbin_unlock"
UNLOCK_SECONDS = 3600
_PURPOSE = "unlock-cookie"


def unlock_value(service: ContentService, content_id: str, now: float | None = None) -> str:
    """A cookie value that opens `content_id` for UNLOCK_SECONDS."""
    expires = int(now if now is not None else time.time()) + UNLOCK_SECONDS
    return f"{expires}.{_mac(service, content_id, expires)}"


def is_unlocked(request: web.Request, content_id: str) -> bool:
    """Whether the request carries a valid, unexpired unlock cookie for this item."""
    value = request.cookies.get(UNLOCK_COOKIE, "")
    stamp, _, mac = value.partition(".")
    if not stamp.isdigit() or not mac:
        return False
    expires = int(stamp)
    if expires < time.time():
        return False
    expected = _mac(request.app[SERVICE_KEY], content_id, expires)
    return hmac.compare_digest(mac.encode(), expected.encode())


def set_unlock_cookie(response: web.StreamResponse, request: web.Request, content_id: str) -> None:
    """Remember on this browser, for an hour, that the item's password was given."""
    service: ContentService = request.app[SERVICE_KEY]
    response.set_cookie(
        UNLOCK_COOKIE,
        unlock_value(service, content_id),
        max_age=UNLOCK_SECONDS,
        path=f"/{content_id}",
        httponly=True,
        samesite="Lax",
        secure=service.settings.server.base_url.startswith("https://"),
    )


async def resolve_item(request: web.Request, content_id: str, visit: Visit | None) -> Item:
    """The item for this request, opened by an unlock cookie or an X-Password header.

    Counts `visit` when one is given (None: look without counting). PasswordRequired when the
    item has a password and neither opens it.
    """
    service: ContentService = request.app[SERVICE_KEY]
    return await service.resolve(
        content_id,
        visit=visit,
        password=request.headers.get("X-Password"),
        unlocked=is_unlocked(request, content_id),
    )


def _mac(service: ContentService, content_id: str, expires: int) -> str:
    key = service.derive_key(_PURPOSE)
    digest = hmac.new(key, f"{content_id}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
