"""Items over HTTP: the curl-friendly `POST /` and `GET /{id}` (raw bytes: bot.web.raw)."""

from __future__ import annotations

from aiohttp import web

from bot.errors import Forbidden, Invalid, TooLarge
from bot.models import Created, ItemOptions, Visit
from bot.service import ContentService
from bot.units import parse_duration
from bot.web.bodies import next_part, open_multipart, part_chunks, read_field, read_form
from bot.web.home import created_page
from bot.web.item_pages import redirect_to, show_item_page
from bot.web.keys import SERVICE_KEY
from bot.web.metrics import count_created
from bot.web.raw import serve_item
from bot.web.templating import wants_html, wants_page
from bot.web.visitors import referrer_host

FIELD_LIMIT = 4096  # option fields are short
MAX_FIELDS = 32  # distinct form fields in one request: each is kept in memory until the end


# An item's own address: any one segment except `/{id}+` (the link's info page), so the router
# can try it first without a wrong match; it is refbin's hottest route.
ITEM_PATH = r"/{content_id:[^/]*[^/+]}"


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
        fields = await read_form(request, service.settings.server.read_timeout)
    elif request.content_type.startswith("multipart/"):
        created = await _read_multipart(request, fields, owner_id)
    else:
        raise Invalid("Send a form: -F url=…, -F text=… or -F file=@….")
    if created is None:
        created = await _create_from_fields(service, fields, owner_id)
    count_created(request, created)
    if fields.get("format") == "html" or wants_html(request):
        return created_page(request, created)
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
    """Read form fields into `fields`; a file part is streamed straight into the service.

    A request that fails after its file was stored (a second file, a malformed or stalled part
    after it) is answered with the error and stores nothing: the new item is deleted again.
    """
    service = service_of(request)
    idle = service.settings.server.read_timeout
    reader = await open_multipart(request)
    created = None
    try:
        while (part := await next_part(reader, idle)) is not None:
            if part.name == "file" and not part.filename:
                continue  # a browser form's file input with no file chosen
            if part.name == "file" and part.filename is not None:
                if created is not None:
                    raise Invalid("Send one item per request.")
                created = await service.add_upload(
                    part_chunks(part, idle),
                    filename=part.filename,
                    options=parse_options(fields, owner_id),
                )
            elif part.name == "text":
                limit = service.settings.limits.paste + 1
                fields["text"] = await read_field(part, "text", limit, idle)
            elif part.name is not None:
                if part.name not in fields and len(fields) >= MAX_FIELDS:
                    raise Invalid(f"A form has at most {MAX_FIELDS} fields.")
                fields[part.name] = await read_field(part, part.name, FIELD_LIMIT, idle)
    except Exception:
        if created is not None and created.created:
            await service.delete(
                created.item.content_id, owner_id=owner_id, delete_token=created.delete_token
            )
        raise
    return created


async def _create_from_fields(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> Created:
    if not fields.get("url", "").strip():  # the web form sends an empty url beside a paste
        fields.pop("url", None)
    options = parse_options(fields, owner_id)
    return await add_from_fields(
        service, fields, options, "Nothing to store: send url, text or file."
    )


async def add_from_fields(
    service: ContentService, fields: dict[str, str], options: ItemOptions, nothing: str
) -> Created:
    """A link from `url` (and `alias`), else a paste from `text` (with `language` and
    `filename`); Invalid(`nothing`) when there is neither."""
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
    raise Invalid(nothing)


async def show_item(request: web.Request) -> web.StreamResponse:
    """A link redirects; a paste, an image or a file is served: as a page to browsers and
    link-preview bots, as its bytes to everyone else (`curl …/ID` prints a paste)."""
    if wants_page(request):  # preview bots too: past this line, every caller is a visitor
        return await show_item_page(request)
    service = service_of(request)
    headers = request.headers
    item = await service.resolve(
        request.match_info["content_id"],
        visit=Visit(referrer=referrer_host(headers.get("Referer", ""))),
        password=headers.get("X-Password"),
    )
    if item.kind == "url":
        assert item.target is not None
        return redirect_to(item.target)
    response = await serve_item(request, service, item)
    # The same URL answers browsers with a page: a shared cache must keep the two apart.
    response.headers["Vary"] = "Accept, User-Agent"
    return response


ROUTES = [web.get(ITEM_PATH, show_item), web.post("/", create_item)]
