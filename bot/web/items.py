"""Items over HTTP: the curl-friendly `POST /`, `GET /{id}` and `GET /{id}/raw`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

from aiohttp import BodyPartReader, web

from bot.errors import Forbidden, Invalid, TimedOut, TooLarge
from bot.models import Created, Item, ItemOptions, Visit
from bot.service import ContentService
from bot.sniff import TEXT_PLAIN, is_active
from bot.units import parse_duration
from bot.web.keys import SERVICE_KEY

READ_CHUNK = 256 * 1024
FIELD_LIMIT = 4096  # option fields are short
# Link-preview fetchers and crawlers: they see items but are not visitors.
BOT_AGENTS = re.compile(
    r"discordbot|slackbot|twitterbot|facebookexternalhit|telegrambot|whatsapp|linkedinbot"
    r"|skypeuripreview|mastodon|pleroma|embedly|redditbot|googlebot|bingbot|applebot"
    r"|bot\b|crawler|spider|preview",
    re.IGNORECASE,
)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/", create_item)
    app.router.add_get("/{content_id}", show_item)
    app.router.add_get("/{content_id}/raw", raw_item)


def service_of(request: web.Request) -> ContentService:
    return request.app[SERVICE_KEY]


async def caller_owner(request: web.Request) -> int | None:
    """The owner a bearer token stands for; None for anonymous callers (if they are allowed)."""
    service = service_of(request)
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        owner_id = await service.owner_for_api_token(header[7:].strip())
        if owner_id is None:
            raise Forbidden("The API token is not valid.")
        return owner_id
    if not service.settings.server.anonymous_uploads:
        raise Forbidden("This instance needs an API token to add items.")
    return None


def parse_options(fields: dict[str, str], owner_id: int | None) -> ItemOptions:
    """Options from form fields: expires, max_views, visibility (or private/unlisted), password."""
    visibility = fields.get("visibility", "public").strip().lower() or "public"
    if _truthy(fields.get("private")):
        visibility = "private"
    elif _truthy(fields.get("unlisted")):
        visibility = "unlisted"
    if visibility not in ("public", "unlisted", "private"):
        raise Invalid("Visibility is public, unlisted or private.")
    expires_in = None
    if fields.get("expires", "").strip():
        try:
            expires_in = parse_duration(fields["expires"])
        except ValueError as exc:
            raise Invalid(f"Bad expiry: {exc}.") from None
    max_views = None
    if fields.get("max_views", "").strip():
        try:
            max_views = int(fields["max_views"])
        except ValueError:
            raise Invalid("max_views is a whole number.") from None
    return ItemOptions(
        owner_id=owner_id,
        visibility=visibility,  # type: ignore[arg-type]
        expires_in=expires_in,
        max_views=max_views,
        password=fields.get("password") or None,
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


async def create_item(request: web.Request) -> web.Response:
    """`curl -F url=…`, `-F text=…` or `-F file=@…`: answers the short URL as plain text."""
    service = service_of(request)
    owner_id = await caller_owner(request)
    limit = service.settings.limits.upload
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise TooLarge(f"The upload is larger than the limit of {limit:,} bytes.")
    fields: dict[str, str] = {}
    created = None
    if request.content_type == "application/x-www-form-urlencoded":
        if (request.content_length or 0) > service.settings.limits.paste + FIELD_LIMIT:
            raise TooLarge(f"The paste is larger than {service.settings.limits.paste:,} bytes.")
        try:
            async with asyncio.timeout(service.settings.server.read_timeout):
                posted = await request.post()
        except TimeoutError:
            raise TimedOut("The form arrived too slowly and was dropped.") from None
        fields = {name: value for name, value in posted.items() if isinstance(value, str)}
    elif request.content_type.startswith("multipart/"):
        created = await _read_multipart(request, fields, owner_id)
    else:
        raise Invalid("Send a form: -F url=…, -F text=… or -F file=@….")
    if created is None:
        created = await _create_from_fields(service, fields, owner_id)
    headers = {}
    if created.delete_token:
        headers["X-Delete-Token"] = created.delete_token
    return web.Response(
        text=created.url + "\n",
        status=201 if created.created else 200,
        headers=headers,
        content_type="text/plain",
    )


async def _read_multipart(
    request: web.Request, fields: dict[str, str], owner_id: int | None
) -> Created | None:
    """Read form fields into `fields`; a file part is streamed straight into the service."""
    service = service_of(request)
    idle = service.settings.server.read_timeout
    reader = await request.multipart()
    created = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise Invalid("Nested multipart bodies are not accepted.")
        if part.name == "file" and part.filename is not None:
            if created is not None:
                raise Invalid("Send one item per request.")
            created = await service.add_upload(
                _part_chunks(part, idle),
                filename=part.filename,
                options=parse_options(fields, owner_id),
            )
        elif part.name == "text":
            limit = service.settings.limits.paste + 1
            fields["text"] = await _read_field(part, limit, "paste", idle)
        elif part.name is not None:
            fields[part.name] = await _read_field(part, FIELD_LIMIT, part.name, idle)
    return created


async def _create_from_fields(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> Created:
    options = parse_options(fields, owner_id)
    if "url" in fields:
        return await service.add_link(
            fields["url"], alias=fields.get("alias") or None, options=options
        )
    if "text" in fields:
        return await service.add_paste(
            fields["text"],
            language=fields.get("language") or None,
            filename=fields.get("filename") or None,
            options=options,
        )
    raise Invalid("Nothing to store: send url, text or file.")


async def _part_chunks(part: BodyPartReader, idle_timeout: float) -> AsyncIterator[bytes]:
    while chunk := await read_chunk(part, idle_timeout):
        yield chunk


async def read_chunk(part: BodyPartReader, idle_timeout: float) -> bytes:
    """The next chunk of a part; TimedOut when the client sends nothing for `idle_timeout` s
    (a slow-loris upload would otherwise hold a connection and a temporary file forever)."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await part.read_chunk(READ_CHUNK)
    except TimeoutError:
        raise TimedOut(f"The upload stalled for {idle_timeout:g} s and was dropped.") from None


async def _read_field(part: BodyPartReader, limit: int, name: str, idle_timeout: float) -> str:
    data = bytearray()
    while chunk := await read_chunk(part, idle_timeout):
        data += chunk
        if len(data) > limit:
            if name == "paste":
                raise TooLarge(f"The paste is larger than {limit - 1:,} bytes.")
            raise Invalid(f"The field {name!r} is too long.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"The field {name!r} is not UTF-8 text.") from None


def visit_of(request: web.Request) -> Visit | None:
    """The visit to count, or None for link-preview fetchers and crawlers."""
    agent = request.headers.get("User-Agent", "")
    if BOT_AGENTS.search(agent):
        return None
    referrer = urlsplit(request.headers.get("Referer", "")).hostname or ""
    return Visit(referrer=referrer.lower())


async def show_item(request: web.Request) -> web.StreamResponse:
    """A link redirects; a paste, an image or a file is served (pages come later)."""
    service = service_of(request)
    item = await service.resolve(
        request.match_info["content_id"],
        visit=visit_of(request),
        password=request.headers.get("X-Password"),
    )
    if item.kind == "url":
        assert item.target is not None
        raise web.HTTPFound(item.target, headers={"Cache-Control": "private, max-age=0"})
    return await serve_bytes(request, service, item)


async def raw_item(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    item = await service.resolve(
        request.match_info["content_id"],
        visit=visit_of(request),
        password=request.headers.get("X-Password"),
    )
    if item.kind == "url":
        assert item.target is not None
        return web.Response(text=item.target + "\n", content_type="text/plain")
    return await serve_bytes(request, service, item)


async def serve_bytes(
    request: web.Request, service: ContentService, item: Item
) -> web.StreamResponse:
    """The stored bytes, with a media type that can never run as our site."""
    assert item.sha256 is not None and item.media_type is not None
    media_type = TEXT_PLAIN if item.kind == "text" else item.media_type
    headers = {
        "Content-Type": media_type,
        "ETag": f'"{item.sha256}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "public, max-age=31536000, immutable"
        if item.immutable
        else "private, no-cache",
    }
    disposition = "attachment" if is_active(media_type) else "inline"
    headers["Content-Disposition"] = content_disposition(disposition, item.filename)
    path = service.store.local_path(item.sha256)
    if path is not None:
        response = web.FileResponse(path, headers=headers)
        return response
    response = web.StreamResponse(headers=headers)
    response.content_length = item.size
    await response.prepare(request)
    async for chunk in service.open_blob(item.sha256):
        await response.write(chunk)
    await response.write_eof()
    return response


def content_disposition(kind: str, filename: str | None) -> str:
    """RFC 6266 with an RFC 5987 `filename*` for any name; an ASCII fallback for old clients."""
    if not filename:
        return kind
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\%;' else "_" for c in filename
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
