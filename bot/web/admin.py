"""`/admin`: the operators' view (the Discord users in `server.admins`, signed in). Every owner
with their usage, every item (or one owner's, or one by id), and what `refbin block`, `unblock`
and `rm` do on the command line. To anyone else, each of these addresses is a 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.models import Page
from bot.service.accounts import require_admin
from bot.service.sessions import Account
from bot.web.account_pages import account_page, id_field, read_fields
from bot.web.auth import see_other
from bot.web.keys import service_of
from bot.web.session import signed_in

ITEMS = "/admin/items"
ITEMS_PAGE = 50


async def operator(request: web.Request) -> Account:
    """The signed-in operator; NotFound for anyone else, signed in or not."""
    return require_admin(await signed_in(request))


async def owners_page(request: web.Request) -> web.Response:
    """GET /admin: every owner, the newest first, with their items and bytes."""
    account = await operator(request)
    cursor = request.query.get("after") or None
    page = await service_of(request).list_owners(account, cursor)
    return account_page(
        request, "admin_owners.html", account, "admin", tab="owners", page=page, cursor=cursor
    )


async def items_page(request: web.Request) -> web.Response:
    """GET /admin/items[?owner=N | ?id=X][&after=…]: every item, one owner's, or one."""
    account = await operator(request)
    service = service_of(request)
    query = request.query
    cursor = query.get("after") or None
    wanted_id = query.get("id", "").strip()
    owner = query.get("owner", "").strip()
    if wanted_id:
        found = await service.find_any_item(account, wanted_id)
        page = Page(items=(found,) if found else (), next_cursor=None)
        heading, keep = f"Item {wanted_id}", {"id": wanted_id}
    elif owner:
        owner_id = id_field({"owner": owner}, "owner", "No such owner.")
        page = await service.list_owned(owner_id, cursor=cursor, limit=ITEMS_PAGE)
        heading, keep = f"Items of owner #{owner_id}", {"owner": str(owner_id)}
    else:
        page = await service.list_all_items(account, cursor)
        heading, keep = "Items", {}
    return account_page(
        request,
        "admin_items.html",
        account,
        "admin",
        tab="items",
        page=page,
        cursor=cursor,
        heading=heading,
        wanted_id=wanted_id,
        filtered=bool(keep),
        back=_address(keep, cursor),
        first_url=_address(keep, None),
        next_url=_address(keep, page.next_cursor),
    )


def _address(keep: dict[str, str], cursor: str | None) -> str:
    query = {**keep, "after": cursor} if cursor else keep
    return f"{ITEMS}?{urlencode(query)}" if query else ITEMS


async def block_item(request: web.Request) -> web.Response:
    """POST /admin/items/{id}/block: the item answers 451 everywhere, with the reason."""
    await operator(request)
    form = await read_fields(request, ["back", "reason"])
    await service_of(request).block(request.match_info["content_id"], form["reason"])
    return _back(form)


async def unblock_item(request: web.Request) -> web.Response:
    """POST /admin/items/{id}/unblock: lift a block."""
    await operator(request)
    form = await read_fields(request, ["back"])
    await service_of(request).block(request.match_info["content_id"], None)
    return _back(form)


async def delete_item(request: web.Request) -> web.Response:
    """POST /admin/items/{id}/delete: delete as the operator (as `refbin rm`)."""
    await operator(request)
    form = await read_fields(request, ["back"])
    await service_of(request).delete(request.match_info["content_id"], admin=True)
    return _back(form)


def _back(form: dict[str, str]) -> web.Response:
    """Back to the list the form was on (only ever one of the admin pages)."""
    back = form["back"]
    return see_other(back if back.startswith(f"{ITEMS}?") or back == ITEMS else ITEMS)


ROUTES = [
    web.get("/admin", owners_page),
    web.get(ITEMS, items_page),
    web.post(ITEMS + "/{content_id}/block", block_item),
    web.post(ITEMS + "/{content_id}/unblock", unblock_item),
    web.post(ITEMS + "/{content_id}/delete", delete_item),
]
