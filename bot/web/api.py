"""The JSON API under /api/v1: add items, look them up, list and delete yours, read their stats.

Every answer under /api/ is JSON, errors included (`{"error": {"code", "message"}}`), also the
router's own 404 and 405 and aiohttp's 413. Also here: `DELETE /{id}`, the curl-friendly delete.
"""

from __future__ import annotations

from aiohttp import web

from bot.errors import Invalid
from bot.models import Created, Item, Stats
from bot.service import ContentService
from bot.web import openapi
from bot.web.bearer import bearer_owner, required_owner
from bot.web.item_form import add_posted
from bot.web.items import ITEM_PATH
from bot.web.keys import service_of
from bot.web.limits import client_key
from bot.web.metrics import count_created

API = "/api/v1"


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
    service = service_of(request)
    owner_id = await required_owner(request)
    page = await service.list_owned(
        owner_id,
        kind=request.query.get("kind"),  # present but empty is no kind: 400
        cursor=request.query.get("cursor") or None,
        limit=int_param(request, "limit", 20, 1, 100),
    )
    return web.json_response(
        {
            "items": [item_json(item, service) for item in page.items],
            "next_cursor": page.next_cursor,
        }
    )


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
    web.get(f"{API}/items/{{content_id}}", get_item),
    web.delete(f"{API}/items/{{content_id}}", delete_item),
    web.get(f"{API}/items/{{content_id}}/stats", item_stats),
    web.delete(ITEM_PATH, delete_item),  # curl -X DELETE with the delete token
]
