"""The JSON API under /api/v1: add items, look them up, list, change and delete yours (one or
many at once), read their stats.

Every answer under /api/ is JSON, errors included (`{"error": {"code", "message"}}`), also the
router's own 404 and 405 and aiohttp's 413. Also here: `DELETE /{id}`, the curl-friendly delete.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.errors import Invalid, TimedOut, TooLarge
from bot.models import (
    BULK_ACTIONS,
    BulkOutcome,
    Created,
    Item,
    ItemChanges,
    ListedItem,
    ListFilter,
    Stats,
)
from bot.service import ContentService
from bot.service.listing import MAX_EXPIRING, MAX_TEXT
from bot.service.owning import MAX_BULK
from bot.units import parse_duration
from bot.web import openapi
from bot.web.bearer import bearer_owner, required_owner
from bot.web.item_form import add_posted
from bot.web.items import ITEM_PATH
from bot.web.keys import service_of
from bot.web.limits import client_key
from bot.web.metrics import count_created

API = "/api/v1"
CHANGE_FIELDS = frozenset({"expires", "max_views", "visibility", "password"})
BULK_FIELDS = frozenset({"action", "ids", "by", "visibility"})
JSON_LIMIT = 64 * 1024  # 500 ids and the rest
MAX_EXPIRING_DAYS = MAX_EXPIRING.days


# ---- handlers --------------------------------------------------------------------------------


async def openapi_json(request: web.Request) -> web.Response:
    base_url = service_of(request).settings.server.base_url
    return web.json_response(
        openapi.document(base_url), headers={"Cache-Control": "public, max-age=300"}
    )


async def create_item(request: web.Request) -> web.Response:
    """JSON for a link or a paste; multipart (or a URL-encoded form) for files and tools."""
    service = service_of(request)
    created = (await add_posted(request, await bearer_owner(request))).created
    count_created(request, created)
    content_id = created.item.content_id
    return web.json_response(
        created_json(created, service),
        status=201 if created.created else 200,
        headers={"Location": f"{API}/items/{content_id}"},
    )


async def get_item(request: web.Request) -> web.Response:
    """Metadata, spending no view; a password-protected item needs X-Password unless its owner
    asks, and only its owner sees what could tell its content (ContentService.describe)."""
    service = service_of(request)
    item = await service.describe(
        request.match_info["content_id"],
        owner_id=await bearer_owner(request),
        password=request.headers.get("X-Password"),
        client=client_key(request),
    )
    return web.json_response(item_json(item, service))


async def list_items(request: web.Request) -> web.Response:
    """Your items, with the dashboard's filters; unknown query parameters are ignored."""
    service = service_of(request)
    owner_id = await required_owner(request)
    page = await service.list_owned(
        owner_id,
        list_filter(request),
        cursor=request.query.get("cursor") or None,
        limit=int_param(request, "limit", 20, 1, 100),
    )
    return web.json_response(
        {
            "items": [listed_json(item, service) for item in page.items],
            "next_cursor": page.next_cursor,
        }
    )


async def update_item(request: web.Request) -> web.Response:
    """Change one of your items: expires, max_views, visibility, password (null removes)."""
    service = service_of(request)
    owner_id = await required_owner(request)
    body = await json_object(request, CHANGE_FIELDS)
    item = await service.update(request.match_info["content_id"], owner_id, item_changes(body))
    return web.json_response(item_json(item, service))


async def bulk_items(request: web.Request) -> web.Response:
    """Delete, extend or change the visibility of many of your items at once."""
    service = service_of(request)
    owner_id = await required_owner(request)
    body = await json_object(request, BULK_FIELDS)
    action = body.get("action")
    if action not in BULK_ACTIONS:
        raise Invalid(f"action is one of {', '.join(BULK_ACTIONS)}.")
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Invalid("ids is a list of item ids.")
    if len(ids) > MAX_BULK:  # named, not counted once each: as the document says
        raise Invalid(f"At most {MAX_BULK} ids at once.")
    visibility = body.get("visibility")
    if "visibility" in body and not isinstance(visibility, str):
        raise Invalid("visibility is public, unlisted or private.")
    outcomes = await service.bulk_change(
        owner_id,
        action,
        ids,
        extend_by=duration(body["by"], "by") if "by" in body else None,
        visibility=visibility,  # type: ignore[arg-type] - the service refuses any other
    )
    return web.json_response({"results": [outcome_json(outcome) for outcome in outcomes]})


async def item_stats(request: web.Request) -> web.Response:
    service = service_of(request)
    owner_id = await required_owner(request)
    stats = await service.stats(
        request.match_info["content_id"],
        owner_id=owner_id,
        days=int_param(request, "days", 30, 1, 366),
    )
    return web.json_response(stats_json(stats))


async def delete_item(request: web.Request) -> web.Response:
    """As the owner (bearer) or with X-Delete-Token; any refusal is the same 404."""
    owner_id = await bearer_owner(request)
    await service_of(request).delete(
        request.match_info["content_id"],
        owner_id=owner_id,
        delete_token=request.headers.get("X-Delete-Token") or None,
    )
    return web.Response(status=204)


def list_filter(request: web.Request) -> ListFilter:
    """The listing's filters from the query: kind, visibility, expiring (days), has_password,
    view_limited, q. A parameter present but empty is refused, as the document says."""
    query = request.query
    text = query.get("q")
    if text is not None and len(text) > MAX_TEXT:
        raise Invalid(f"q is at most {MAX_TEXT} characters.")
    expiring = int_param(request, "expiring", 0, 1, MAX_EXPIRING_DAYS) or None
    return ListFilter(
        kind=query.get("kind"),  # type: ignore[arg-type] - the service refuses any other
        visibility=query.get("visibility"),  # type: ignore[arg-type]
        expiring_within=timedelta(days=expiring) if expiring else None,
        has_password=bool_param(request, "has_password"),
        view_limited=bool_param(request, "view_limited"),
        text=text,
    )


def bool_param(request: web.Request, name: str) -> bool | None:
    """`true` or `false` (None when absent); else 400."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise Invalid(f"{name} is true or false.")
    return raw == "true"


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high], as the document says; else 400."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise Invalid(f"{name} is a whole number.") from None
    if not low <= value <= high:
        raise Invalid(f"{name} is a whole number from {low} to {high}.")
    return value


async def json_object(request: web.Request, known: frozenset[str]) -> dict[str, Any]:
    """The request's JSON object, with only `known` fields (an unknown one is named)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send a JSON object (application/json).")
    if request.content_length is not None and request.content_length > JSON_LIMIT:
        raise TooLarge(f"The body is larger than {JSON_LIMIT:,} bytes.")
    data = bytearray()
    try:
        async with asyncio.timeout(service_of(request).settings.server.read_timeout):
            while chunk := await request.content.readany():
                data += chunk
                if len(data) > JSON_LIMIT:
                    raise TooLarge(f"The body is larger than {JSON_LIMIT:,} bytes.")
    except TimeoutError:
        raise TimedOut("The body arrived too slowly and was dropped.") from None
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise Invalid("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Invalid("The body is a JSON object.")
    unknown = sorted(set(body) - known)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")
    return body


def item_changes(body: dict[str, Any]) -> ItemChanges:
    """What a PATCH asks for. `expires`: a duration from now (`7d`), one added to the present
    expiry (`+7d`), or null for never."""
    changes: dict[str, Any] = {}
    if "expires" in body:
        expires = body["expires"]
        if isinstance(expires, str) and expires.strip().startswith("+"):
            changes["extend_by"] = duration(expires.strip()[1:], "expires")
        else:
            changes["expires_in"] = None if expires is None else duration(expires, "expires")
    if "max_views" in body:
        views = body["max_views"]
        if views is not None and (isinstance(views, bool) or not isinstance(views, int)):
            raise Invalid("max_views is a whole number, or null for no limit.")
        changes["max_views"] = views
    if "visibility" in body:
        if not isinstance(body["visibility"], str):
            raise Invalid("visibility is public, unlisted or private.")
        changes["visibility"] = body["visibility"]
    if "password" in body:
        password = body["password"]
        if password is not None and not isinstance(password, str):
            raise Invalid("password is a string, or null to remove it.")
        if password is not None and not _is_unicode(password):
            raise Invalid("password is not valid Unicode text.")
        changes["password"] = password
    return ItemChanges(**changes)


def duration(value: object, name: str) -> timedelta:
    if not isinstance(value, str):
        raise Invalid(f"{name} is a duration such as 7d.")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(f"Bad {name}: {exc}.") from None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON may escape a lone surrogate
        return False
    return True


# ---- answers ---------------------------------------------------------------------------------


def item_json(item: Item, service: ContentService) -> dict[str, object]:
    """An item as the API shows it: the common fields, then its kind's own."""
    url = service.url_for(item.content_id)
    data: dict[str, object] = {
        "id": item.content_id,
        "url": url,
        "kind": item.kind,
        "visibility": item.visibility,
        "created_at": item.created_at.isoformat(),
        "expires_at": item.expires_at.isoformat() if item.expires_at else None,
        "max_views": item.max_views,
        "views": item.views,
        "has_password": item.has_password,
    }
    # What the caller may not see (policy.shown_to) is None, and left out.
    if item.kind == "url":
        if item.target is not None:
            data["target"] = item.target
        return data
    if item.sha256 is not None:
        data["sha256"] = item.sha256
    if item.size is not None:
        data["size"] = item.size
    data.update(media_type=item.media_type, filename=item.filename, raw_url=f"{url}/raw")
    if item.kind == "text":
        data.update(language=item.language, line_count=item.line_count)
    elif item.kind == "image":
        data.update(width=item.width, height=item.height, thumb_url=f"{url}/thumb")
    return data


def listed_json(item: ListedItem, service: ContentService) -> dict[str, object]:
    """An item in a listing: as item_json, and a paste's first line."""
    data = item_json(item, service)
    if item.kind == "text":
        data["first_line"] = item.first_line
    if item.matches is not None:  # a search's matching lines, words between « and »
        data["matches"] = item.matches
    return data


def outcome_json(outcome: BulkOutcome) -> dict[str, object]:
    if outcome.done:
        return {"id": outcome.content_id, "ok": True}
    error = {"code": outcome.code, "message": outcome.message}
    return {"id": outcome.content_id, "ok": False, "error": error}


def created_json(created: Created, service: ContentService) -> dict[str, object]:
    return {
        **item_json(created.item, service),
        "created": created.created,
        "delete_token": created.delete_token,
    }


def stats_json(stats: Stats) -> dict[str, object]:
    return {
        "id": stats.content_id,
        "views": stats.views,
        "per_day": [{"day": day.isoformat(), "count": count} for day, count in stats.per_day],
        "referrers": [{"referrer": host, "count": count} for host, count in stats.referrers],
    }


ROUTES = [
    web.get(f"{API}/openapi.json", openapi_json),
    web.post(f"{API}/items", create_item),
    web.get(f"{API}/items", list_items),
    web.post(f"{API}/items/bulk", bulk_items),  # before {content_id}, which it would match
    web.get(f"{API}/items/{{content_id}}", get_item),
    web.patch(f"{API}/items/{{content_id}}", update_item),
    web.delete(f"{API}/items/{{content_id}}", delete_item),
    web.get(f"{API}/items/{{content_id}}/stats", item_stats),
    web.delete(ITEM_PATH, delete_item),  # curl -X DELETE with the delete token
]
