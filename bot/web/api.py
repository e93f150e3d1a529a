"""The JSON API under /api/v1: add items, look them up, list and delete yours, read their stats.

Every answer under /api/ is JSON, errors included (`{"error": {"code", "message"}}`), also the
router's own 404 and 405 and aiohttp's 413. Also here: `DELETE /{id}`, the curl-friendly delete.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import BodyPartReader, web

from bot.errors import Invalid, TimedOut, TooLarge
from bot.models import Created, Item, ItemOptions, Stats
from bot.service import ContentService
from bot.web import openapi
from bot.web.bodies import next_part, open_multipart, part_chunks, read_field, read_form
from bot.web.items import FIELD_LIMIT, ITEM_PATH, add_from_fields, parse_options
from bot.web.keys import SERVICE_KEY
from bot.web.metrics import count_created

log = logging.getLogger(__name__)

API = "/api/v1"
JSON_CONTENT = frozenset({"url", "alias", "text", "language", "filename"})
JSON_OPTIONS = frozenset({"expires", "max_views", "visibility", "password"})
FORM_CONTENT = frozenset({"url", "alias", "text", "language", "filename", "input"})
FORM_OPTIONS = frozenset({"expires", "max_views", "visibility", "password", "private", "unlisted"})


# ---- errors and authentication ---------------------------------------------------------------


def unauthorized(message: str) -> web.HTTPUnauthorized:
    """A 401 with a JSON body, to raise."""
    return web.HTTPUnauthorized(
        text=json.dumps({"error": {"code": "unauthorized", "message": message}}),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="refbin"'},
    )


async def bearer_owner(request: web.Request) -> int | None:
    """The owner the request's bearer token stands for; None without one; 401 for a bad one.
    Other schemes (a proxy's Basic auth) are not ours and are ignored."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    owner_id = await request.app[SERVICE_KEY].owner_for_api_token(token) if token else None
    if owner_id is None:
        raise unauthorized("The API token is not valid (or was revoked).")
    return owner_id


async def required_owner(request: web.Request) -> int:
    owner_id = await bearer_owner(request)
    if owner_id is None:
        raise unauthorized("This needs an API token: `Authorization: Bearer <token>`.")
    return owner_id


# ---- handlers --------------------------------------------------------------------------------


async def openapi_json(request: web.Request) -> web.Response:
    base_url = request.app[SERVICE_KEY].settings.server.base_url
    return web.json_response(
        openapi.document(base_url), headers={"Cache-Control": "public, max-age=300"}
    )


async def create_item(request: web.Request) -> web.Response:
    """JSON for a link or a paste; multipart (or a URL-encoded form) for files and tools."""
    service = request.app[SERVICE_KEY]
    owner_id = await bearer_owner(request)
    if owner_id is None and not service.settings.server.anonymous_uploads:
        raise unauthorized("This instance needs an API token to add items.")
    content_type = request.content_type
    if content_type == "application/json":
        created = await _create_from_json(request, service, owner_id)
    elif content_type == "multipart/form-data":
        created = await _create_from_multipart(request, service, owner_id)
    elif content_type == "application/x-www-form-urlencoded":
        created = await _create_from_urlencoded(request, service, owner_id)
    else:
        raise web.HTTPUnsupportedMediaType(
            text="Send JSON, multipart/form-data (for files) or a URL-encoded form."
        )
    count_created(request, created)
    content_id = created.item.content_id
    return web.json_response(
        created_json(created, service),
        status=201 if created.created else 200,
        headers={"Location": f"{API}/items/{content_id}"},
    )


async def get_item(request: web.Request) -> web.Response:
    """Metadata; a password-protected item needs X-Password unless its owner asks."""
    service = request.app[SERVICE_KEY]
    owner_id = await bearer_owner(request)
    content_id = request.match_info["content_id"]
    item = await service.get(content_id)
    if item.has_password and (owner_id is None or owner_id != item.owner_id):
        await service.check_password(content_id, request.headers.get("X-Password"))
    return web.json_response(item_json(item, service))


async def list_items(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
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
    service = request.app[SERVICE_KEY]
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
    await request.app[SERVICE_KEY].delete(
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


# ---- reading what to create ------------------------------------------------------------------


async def _create_from_json(
    request: web.Request, service: ContentService, owner_id: int | None
) -> Created:
    body = await _read_json(request, service)
    if not isinstance(body, dict):
        raise Invalid('The body is a JSON object: {"url": …} or {"text": …}.')
    unknown = sorted(set(body) - JSON_CONTENT - JSON_OPTIONS)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")
    for name, value in body.items():
        if name == "max_views":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise Invalid("max_views is a whole number.")
        elif not isinstance(value, str):  # null too: leave out what you do not send
            raise Invalid(f"{name} is a string.")
        elif not _is_unicode(value):
            raise Invalid(f"{name} is not valid Unicode text (it has a lone surrogate).")
    fields = {name: str(value) for name, value in body.items() if value is not None}
    if "alias" in fields and "url" not in fields:
        raise Invalid("An alias is for links only.")
    return await _create_from_fields(service, fields, owner_id)


async def _read_json(request: web.Request, service: ContentService) -> Any:
    # A paste may be escaped (\uXXXX) to six times its size; anything past that is refused
    # before it is all read.
    limit = 6 * service.settings.limits.paste + FIELD_LIMIT
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The paste is larger than {service.settings.limits.paste:,} bytes.")
    data = bytearray()
    try:
        async with asyncio.timeout(service.settings.server.read_timeout):
            while chunk := await request.content.readany():
                data += chunk
                if len(data) > limit:
                    raise TooLarge(
                        f"The paste is larger than {service.settings.limits.paste:,} bytes."
                    )
    except TimeoutError:
        raise TimedOut("The body arrived too slowly and was dropped.") from None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise Invalid(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:  # [[[[…]]]] nested deeper than the parser goes
        raise Invalid("The body is not valid JSON: it is nested too deeply.") from None


def _is_unicode(text: str) -> bool:
    """JSON may escape a lone surrogate (\\ud800): no database or encoder accepts one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _create_from_multipart(
    request: web.Request, service: ContentService, owner_id: int | None
) -> Created:
    """Fields first, then at most one `file` part, streamed straight into the store."""
    idle = service.settings.server.read_timeout
    reader = await open_multipart(request)
    fields: dict[str, str] = {}
    created: Created | None = None
    while (part := await next_part(reader, idle)) is not None:
        if created is not None:
            await _refuse_trailing_part(service, created, part, idle)
        elif part.name == "file":
            created = await service.add_upload(
                part_chunks(part, idle),
                filename=fields.get("filename") or part.filename,
                options=_form_options(fields, owner_id),
            )
        else:
            name = part.name or ""
            if name not in FORM_CONTENT and name not in FORM_OPTIONS:
                raise Invalid(f"Unknown field {name!r}.")
            limit = service.settings.limits.paste + 1 if name == "text" else FIELD_LIMIT
            fields[name] = await read_field(part, name, limit, idle)
    if created is None:
        created = await _create_from_fields(service, _without_input(fields), owner_id)
    return created


async def _refuse_trailing_part(
    service: ContentService, created: Created, part: BodyPartReader, idle: float
) -> None:
    """A part after the file would be silently lost: refuse the request and undo the upload."""
    if not await read_field(part, part.name or "", FIELD_LIMIT, idle):
        return
    if created.created and created.delete_token:
        await service.delete(created.item.content_id, delete_token=created.delete_token)
    raise Invalid("Send the option fields before the file, and one file per request.")


async def _create_from_urlencoded(
    request: web.Request, service: ContentService, owner_id: int | None
) -> Created:
    # request.post() holds the app's client_max_size: past it, aiohttp answers 413 itself.
    fields = await read_form(request, service.settings.server.read_timeout)
    unknown = sorted(set(fields) - FORM_CONTENT - FORM_OPTIONS)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")
    return await _create_from_fields(service, _without_input(fields), owner_id)


def _without_input(fields: dict[str, str]) -> dict[str, str]:
    """ShareX sends what to shorten as `input`; it is a link when nothing else was sent."""
    fields = dict(fields)
    given = fields.pop("input", "").strip()
    if given and "url" not in fields and "text" not in fields:
        fields["url"] = given
    return fields


def _form_options(fields: dict[str, str], owner_id: int | None) -> ItemOptions:
    return parse_options({k: v for k, v in fields.items() if k in FORM_OPTIONS}, owner_id)


async def _create_from_fields(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> Created:
    options = _form_options(fields, owner_id)
    if "url" in fields and "text" in fields:
        raise Invalid("Send url or text, not both.")
    return await add_from_fields(
        service,
        fields,
        options,
        "Nothing to store: send url, text, or a file (multipart field `file`).",
    )


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
    if item.kind == "url":
        data["target"] = item.target
        return data
    data.update(
        sha256=item.sha256,
        size=item.size,
        media_type=item.media_type,
        filename=item.filename,
        raw_url=f"{url}/raw",
    )
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
