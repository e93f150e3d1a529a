"""What a browser carries to open an item: the grants of bot/service/grants.py, as cookies.

Browsers cannot send X-Password on a plain link, so the password is asked once by a form and
proven afterwards by an UNLOCK grant in a cookie for an hour; a page view that spends a view of
a view-limited item leaves a SEEN grant for a few minutes, which lets the same browser fetch
that item's bytes and thumbnail (the page's original, its download, its player) without
spending another. Each cookie's Path is the item's own (`/{id}`), so it travels with the page,
`/{id}/raw` and `/{id}/thumb` and nowhere else; it is HttpOnly, and the service checks that it
was made for this very item. The web only carries the strings.
"""

from __future__ import annotations

from aiohttp import web

from bot.models import Item, Kind, Visit
from bot.service.grants import LIFETIMES, SEEN, UNLOCK
from bot.service.reading import Opened
from bot.web.keys import service_of
from bot.web.limits import client_key

UNLOCK_COOKIE = "refbin_unlock"
SEEN_COOKIE = "refbin_seen"
_COOKIES = {UNLOCK: UNLOCK_COOKIE, SEEN: SEEN_COOKIE}


async def resolve_item(request: web.Request, content_id: str, visit: Visit | None) -> Item:
    """The item for this request, opened by an unlock cookie or an X-Password header.

    Counts `visit` when one is given (None: look without counting, and show nothing of a
    view-limited item's content). PasswordRequired when the item has a password and neither
    opens it.
    """
    password = request.headers.get("X-Password")
    return await service_of(request).resolve(
        content_id,
        visit=visit,
        password=password,
        unlock=request.cookies.get(UNLOCK_COOKIE),
        client=_guesser(request, password),
    )


async def open_item(
    request: web.Request,
    content_id: str,
    visit: Visit | None,
    *,
    page: bool = False,
    kind: Kind | None = None,
) -> Opened:
    """The item for a request about to be shown its content: a view-limited one spends a view
    unless the request carries this item's SEEN cookie (see ContentService.open). The cookie
    opens the bytes and the thumbnail, not the `page` again: showing it anew is a new view."""
    password = request.headers.get("X-Password")
    return await service_of(request).open(
        content_id,
        visit=visit,
        password=password,
        unlock=request.cookies.get(UNLOCK_COOKIE),
        seen=None if page else request.cookies.get(SEEN_COOKIE),
        client=_guesser(request, password),
        kind=kind,
    )


async def unlock_grant(request: web.Request, content_id: str, password: str | None) -> str:
    """An UNLOCK grant once `password` opens the item (PasswordRequired, or RateLimited)."""
    return await service_of(request).unlock(content_id, password, client=client_key(request))


def set_grant_cookie(
    response: web.StreamResponse, request: web.Request, purpose: str, content_id: str, grant: str
) -> None:
    """Keep a grant (UNLOCK or SEEN) on this browser, for the item's own paths only."""
    response.set_cookie(
        _COOKIES[purpose],
        grant,
        max_age=LIFETIMES[purpose],
        path=f"/{content_id}",
        httponly=True,
        samesite="Lax",
        secure=service_of(request).settings.server.base_url.startswith("https://"),
    )


def _guesser(request: web.Request, password: str | None) -> str:
    # Who is counted for a wrong password; without one there is nothing to count, and the hot
    # path (a redirect) need not work out the client.
    return client_key(request) if password else ""
