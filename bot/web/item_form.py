"""What to add, as a client posts it: the one reader of `POST /` and `POST /api/v1/items`.

A JSON object, a URL-encoded form or a multipart form: the fields first, then at most one `file`
part, streamed straight into the store. In a form an empty field counts as not sent (a browser
sends every input of a form, filled or not), and a file part with an empty filename is a
browser's file input with no file chosen. Refused, naming what is wrong: a field this reader
does not know, a part after the file, a link and a paste (or a file) in one request, an alias
for anything but a link, and options this instance does not allow (checked before a file is
read). A request refused after its file was stored stores nothing: the new item is deleted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.errors import Invalid, TimedOut, TooLarge
from bot.models import Created, ItemOptions
from bot.service import ContentService
from bot.service.policy import check_adder, check_options
from bot.units import parse_duration
from bot.web.bodies import (
    MultipartBody,
    Part,
    next_part,
    open_multipart,
    part_chunks,
    read_field,
)
from bot.web.bodies import read_form as read_urlencoded
from bot.web.keys import service_of

CONTENT = frozenset({"url", "alias", "text", "language", "filename"})
OPTIONS = frozenset({"expires", "max_views", "visibility", "password"})
FLAGS = frozenset({"private", "unlisted"})  # a form's checkboxes for visibility=…
SHAREX_INPUT = "input"  # ShareX's `{input}`: a link to shorten when nothing else is sent
JSON_FIELDS = CONTENT | OPTIONS
FORM_FIELDS = CONTENT | OPTIONS | FLAGS | {SHAREX_INPUT}
FIELD_LIMIT = 4096  # option fields are short
BODY_SLACK = 64 * 1024  # what a multipart body carries besides its file: fields, boundaries
NOTHING = "Nothing to store: send url, text, or a file (multipart field `file`)."
AFTER_FILE = "Send the option fields before the file, and one item per request."
UNSUPPORTED = "Send JSON, multipart/form-data (for files) or a URL-encoded form."


@dataclass(frozen=True)
class Posted:
    """What a post added, and the fields its route reads itself (`extra`)."""

    created: Created
    extra: dict[str, str]


async def add_posted(
    request: web.Request, owner_id: int | None, *, extra: Set[str] = frozenset()
) -> Posted:
    """Read the request's body and add what it holds for `owner_id` (None: anonymously).
    `extra`: field names the route reads itself (they are returned, not stored)."""
    service = service_of(request)
    check_adder(service.settings, owner_id)
    limits = service.settings.limits
    length = request.content_length
    if length is not None and length > limits.upload + BODY_SLACK:
        raise TooLarge(f"The upload is larger than the limit of {limits.upload:,} bytes.")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        return await _add_multipart(request, service, owner_id, extra)
    if content_type == "application/x-www-form-urlencoded":
        if length is not None and length > limits.paste + FIELD_LIMIT:
            raise TooLarge(f"The paste is larger than {limits.paste:,} bytes.")
        # request.post() holds the app's client_max_size: past it, aiohttp answers 413 itself.
        form = await read_urlencoded(request, service.settings.server.read_timeout)
        unknown = sorted(set(form) - FORM_FIELDS - extra)
        if unknown:
            raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")
        fields = _form_fields(form)
    elif content_type == "application/json":
        fields = await _read_json(request, service, extra)
    else:
        raise web.HTTPUnsupportedMediaType(text=UNSUPPORTED)
    own = {name: fields.pop(name) for name in extra if name in fields}
    return Posted(await add_from_fields(service, fields, owner_id), own)


async def add_from_fields(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> Created:
    """A link from `url` (and `alias`), or a paste from `text` (with `language` and
    `filename`), with the options among the fields."""
    _check_content(fields, with_file=False)
    options = item_options(service, fields, owner_id)
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
    raise Invalid(NOTHING)


def item_options(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> ItemOptions:
    """The options a post's fields ask for, if this instance allows them (Invalid if not):
    expires, max_views, visibility (or the private / unlisted flags), password."""
    visibility = fields.get("visibility", "public").strip().lower() or "public"
    if _truthy(fields.get("private")):
        visibility = "private"
    elif _truthy(fields.get("unlisted")):
        visibility = "unlisted"
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
    options = ItemOptions(
        owner_id=owner_id,
        visibility=visibility,  # type: ignore[arg-type] - check_options refuses any other
        expires_in=expires_in,
        max_views=max_views,
        password=fields.get("password") or None,
    )
    return check_options(service.settings, options)


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _check_content(fields: dict[str, str], *, with_file: bool) -> None:
    if with_file and ("url" in fields or "text" in fields):
        raise Invalid("Send a file, a url or a text, one per request.")
    if "url" in fields and "text" in fields:
        raise Invalid("Send url or text, not both.")
    if "alias" in fields and "url" not in fields:
        raise Invalid("An alias is for links only.")


def _form_fields(form: dict[str, str], *, with_file: bool = False) -> dict[str, str]:
    """A form's fields without the empty ones; ShareX's `input` is the link to shorten when
    nothing else was sent (with a file, ShareX sends it empty)."""
    fields = {name: value for name, value in form.items() if value}
    given = fields.pop(SHAREX_INPUT, "").strip()
    if given and not with_file and "url" not in fields and "text" not in fields:
        fields["url"] = given
    return fields


# ---- multipart: fields, then one file streamed into the store --------------------------------


async def _add_multipart(
    request: web.Request, service: ContentService, owner_id: int | None, extra: Set[str]
) -> Posted:
    reading = _Multipart(service, owner_id, extra)
    await reading.read(await open_multipart(request))
    fields = _form_fields(reading.form)
    own = {name: fields.pop(name) for name in extra if name in fields}
    created = reading.created
    if created is None:
        created = await add_from_fields(service, fields, owner_id)
    return Posted(created, own)


class _Multipart:
    """One multipart body being read: its fields up to the file, and what the file became."""

    def __init__(self, service: ContentService, owner_id: int | None, extra: Set[str]) -> None:
        self.service = service
        self.owner_id = owner_id
        self.extra = extra
        self.idle = service.settings.server.read_timeout
        self.form: dict[str, str] = {}
        self.created: Created | None = None

    async def read(self, reader: MultipartBody) -> None:
        """Read every part; a failure after the file was stored deletes its new item again."""
        try:
            while (part := await next_part(reader, self.idle)) is not None:
                await self._take(part)
        except Exception:
            created = self.created
            if created is not None and created.created:
                await self.service.delete(
                    created.item.content_id,
                    owner_id=self.owner_id,
                    delete_token=created.delete_token,
                )
            raise

    async def _take(self, part: Part) -> None:
        service, idle = self.service, self.idle
        if self.created is not None:
            if await read_field(part, part.name or "", FIELD_LIMIT, idle):
                raise Invalid(AFTER_FILE)
        elif part.name == "file" and part.filename == "":
            return  # a browser form's file input with no file chosen
        elif part.name == "file":
            fields = _form_fields(self.form, with_file=True)
            _check_content(fields, with_file=True)
            self.created = await service.add_upload(
                part_chunks(part, idle),
                filename=fields.get("filename") or part.filename,
                options=item_options(service, fields, self.owner_id),
            )
        else:
            name = part.name or ""
            if name not in FORM_FIELDS and name not in self.extra:
                raise Invalid(f"Unknown field {name!r}.")
            limit = service.settings.limits.paste + 1 if name == "text" else FIELD_LIMIT
            self.form[name] = await read_field(part, name, limit, idle)


# ---- JSON ------------------------------------------------------------------------------------


async def _read_json(
    request: web.Request, service: ContentService, extra: Set[str]
) -> dict[str, str]:
    body = await _read_json_body(request, service)
    if not isinstance(body, dict):
        raise Invalid('The body is a JSON object: {"url": …} or {"text": …}.')
    unknown = sorted(set(body) - JSON_FIELDS - extra)
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
    return {name: str(value) for name, value in body.items() if value is not None}


async def _read_json_body(request: web.Request, service: ContentService) -> Any:
    # A paste may be escaped (\uXXXX) to six times its size; anything past that is refused
    # before it is all read.
    paste = service.settings.limits.paste
    limit = 6 * paste + FIELD_LIMIT
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The paste is larger than {paste:,} bytes.")
    data = bytearray()
    try:
        async with asyncio.timeout(service.settings.server.read_timeout):
            while chunk := await request.content.readany():
                data += chunk
                if len(data) > limit:
                    raise TooLarge(f"The paste is larger than {paste:,} bytes.")
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
