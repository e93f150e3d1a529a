"""The dashboard under /me: everything the signed-in person owns (filters, keyset pages), several
items changed at once, and one item's page (its settings, link, QR code and stats).

Every page works without JavaScript. Forms post to this site only (the guard refuses cross-site
posts); an item that is not the person's is a 404, never a 403 (ids of private items are not
confirmed to anyone else).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.errors import Invalid, TimedOut
from bot.models import Item, ItemChanges, ListFilter, Stats
from bot.service.sessions import Account
from bot.units import parse_duration
from bot.web.account_pages import account_page
from bot.web.auth import see_other
from bot.web.bodies import MALFORMED_BODY
from bot.web.charts import stats_section
from bot.web.keys import service_of
from bot.web.session import required_account

PAGE_SIZE = 24
SOON = timedelta(days=7)  # "expiring soon"
EXTEND_BY = timedelta(days=7)  # what "Extend" adds
FILTER_NAMES = ("kind", "visibility", "expiring", "password", "limited", "q")
VISIBILITIES = ("public", "unlisted", "private")


def dashboard_filter(query: dict[str, str]) -> ListFilter:
    """The GET form's filters; an empty field or an unticked box filters nothing."""
    text = query.get("q", "").strip()
    if len(text) > 200:
        raise Invalid("The search is at most 200 characters.")
    return ListFilter(
        kind=query.get("kind") or None,  # type: ignore[arg-type] - the service refuses others
        visibility=query.get("visibility") or None,  # type: ignore[arg-type]
        expiring_within=SOON if query.get("expiring") else None,
        has_password=True if query.get("password") else None,
        view_limited=True if query.get("limited") else None,
        text=text or None,
    )


async def dashboard(request: web.Request) -> web.Response:
    """GET /me: the person's items, newest first (soonest expiry first when expiring soon)."""
    account = await required_account(request)
    query = {name: request.query.get(name, "") for name in FILTER_NAMES}
    after = request.query.get("after") or None
    page = await service_of(request).list_owned(
        account.owner_id, dashboard_filter(query), cursor=after, limit=PAGE_SIZE
    )
    kept = {name: value for name, value in query.items() if value}
    next_url = None
    if page.next_cursor:
        next_url = "/me?" + urlencode({**kept, "after": page.next_cursor})
    return account_page(
        request,
        "me.html",
        account,
        "items",
        page=page,
        query=query,
        filtered=bool(kept),
        after=after,
        first_url="/me?" + urlencode(kept) if kept else "/me",
        next_url=next_url,
        base_url=service_of(request).settings.server.base_url,
    )


async def read_posted(request: web.Request) -> dict[str, list[str]]:
    """A posted form's text fields, each with all its values (checkboxes repeat a name)."""
    timeout = service_of(request).settings.server.read_timeout
    try:
        async with asyncio.timeout(timeout):
            posted = await request.post()
    except TimeoutError:
        raise TimedOut("The form arrived too slowly and was dropped.") from None
    except MALFORMED_BODY as exc:
        raise Invalid(f"The form is malformed: {exc}.") from None
    fields: dict[str, list[str]] = {}
    for name, value in posted.items():
        if isinstance(value, str):
            fields.setdefault(name, []).append(value)
    return fields


def only(fields: dict[str, list[str]], allowed: set[str]) -> None:
    """Refuse a field the form does not have, naming it."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")


def single(fields: dict[str, list[str]], name: str) -> str:
    """A field given at most once, trimmed ('' when absent)."""
    values = fields.get(name, [])
    if len(values) > 1:
        raise Invalid(f"{name} is given more than once.")
    return values[0].strip() if values else ""


async def bulk(request: web.Request) -> web.Response:
    """POST /me/bulk: delete, extend by 7 days or change the visibility of the ticked items."""
    account = await required_account(request)
    fields = await read_posted(request)
    only(fields, {"id", "action"})
    ids = [value.strip() for value in fields.get("id", []) if value.strip()]
    if not ids:
        raise Invalid("Tick at least one item.")
    action = single(fields, "action")
    service = service_of(request)
    if action == "delete":
        outcomes = await service.bulk_change(account.owner_id, "delete", ids)
    elif action == "extend":
        outcomes = await service.bulk_change(account.owner_id, "extend", ids, extend_by=EXTEND_BY)
    elif action.startswith("visibility:") and action[11:] in VISIBILITIES:
        outcomes = await service.bulk_change(
            account.owner_id,
            "visibility",
            ids,
            visibility=action[11:],  # type: ignore[arg-type] - checked above
        )
    else:
        raise Invalid("action is delete, extend, or visibility:public|unlisted|private.")
    if all(outcome.done for outcome in outcomes):
        return see_other("/me")
    # Some were refused (someone else's id answers as a missing one does): say which.
    response = account_page(request, "me_bulk.html", account, "items", outcomes=outcomes)
    response.set_status(422)
    return response


async def owned_item(request: web.Request, owner_id: int) -> tuple[Item, Stats]:
    """The item named in the path and its stats, if it is `owner_id`'s (NotFound otherwise)."""
    content_id = request.match_info["content_id"]
    service = service_of(request)
    stats = await service.stats(content_id, owner_id=owner_id)  # the ownership check
    item = await service.get(content_id)
    return item, stats


async def item_page(request: web.Request) -> web.Response:
    """GET /me/items/{id}: one item's settings, link, QR code and stats."""
    account = await required_account(request)
    item, stats = await owned_item(request, account.owner_id)
    return item_response(request, account, item, stats)


def item_response(
    request: web.Request, account: Account, item: Item, stats: Stats, error: str = ""
) -> web.Response:
    """The item's page (with `error` above the form when a change was refused)."""
    service = service_of(request)
    return account_page(
        request,
        "me_item.html",
        account,
        "items",
        item=item,
        url=service.url_for(item.content_id),
        stats=stats_section(stats, today=datetime.now(UTC).date()),
        error=error,
    )


def form_changes(fields: dict[str, list[str]]) -> ItemChanges:
    """What the item form asks: `expires` (a duration from now, blank: keep, `never`), the
    view limit (blank: none), the visibility, the password (blank: keep, or removed when
    `no_password` is ticked)."""
    changes: dict[str, object] = {}
    expires = single(fields, "expires").lower()
    if expires == "never":
        changes["expires_in"] = None
    elif expires:
        try:
            changes["expires_in"] = parse_duration(expires)
        except ValueError as exc:
            raise Invalid(f"Bad expiry: {exc}.") from None
    views = single(fields, "max_views")
    if views and not views.isdigit():
        raise Invalid("The view limit is a whole number, or blank for none.")
    changes["max_views"] = int(views) if views else None
    visibility = single(fields, "visibility")
    if visibility:
        changes["visibility"] = visibility
    password = "".join(fields.get("password", []))  # a password is taken as typed
    if single(fields, "no_password"):
        changes["password"] = None
    elif password:
        changes["password"] = password
    return ItemChanges(**changes)  # type: ignore[arg-type] - the service checks each value


async def change_item(request: web.Request) -> web.Response:
    """POST /me/items/{id}: change its expiry, view limit, visibility or password."""
    account = await required_account(request)
    fields = await read_posted(request)
    only(fields, {"expires", "max_views", "visibility", "password", "no_password"})
    content_id = request.match_info["content_id"]
    service = service_of(request)
    await service.stats(content_id, owner_id=account.owner_id)  # another's: 404 before reading
    try:
        await service.update(content_id, account.owner_id, form_changes(fields))
    except Invalid as exc:
        item, stats = await owned_item(request, account.owner_id)
        response = item_response(request, account, item, stats, error=str(exc))
        response.set_status(400)
        return response
    return see_other(f"/me/items/{content_id}")


async def delete_item(request: web.Request) -> web.Response:
    """POST /me/items/{id}/delete: delete it, back to the list."""
    account = await required_account(request)
    only(await read_posted(request), set())
    content_id = request.match_info["content_id"]
    service = service_of(request)
    await service.stats(content_id, owner_id=account.owner_id)
    await service.delete(content_id, owner_id=account.owner_id)
    return see_other("/me")


ROUTES = [
    web.get("/me", dashboard),
    web.post("/me/bulk", bulk),
    web.get("/me/items/{content_id}", item_page),
    web.post("/me/items/{content_id}", change_item),
    web.post("/me/items/{content_id}/delete", delete_item),
]
