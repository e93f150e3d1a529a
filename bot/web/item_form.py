"""What to add, as a client posts it: the one reader of `POST /` and `POST /api/v1/items`.

A JSON object, a URL-encoded form or a multipart form: the fields first, then at most one `file`
part, streamed straight into the store. In a form an empty field counts as not sent (a browser
sends every input of a form, filled or not), and a file part with an empty filename is a
browser's file input with no file chosen. Refused, naming what is wrong: a field this reader
does not know, a part after the file, a link and a paste (or a file) in one request, a field
that does not apply to what is added (bot.service.fields: an alias for a paste), and options
this instance does not allow (checked before a file is read). A request refused after its file
was stored stores nothing: the new item is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.errors import Invalid, SecretFound, TooLarge
from bot.models import Created, ItemOptions
from bot.service import ContentService
from bot.service.fields import ITEM_FIELDS, check_applicable, check_known, kind_of
from bot.service.policy import check_adder, check_options
from bot.units import parse_duration
from bot.web.bodies import (
    BodyPace,
    MultipartBody,
    Part,
    next_part,
    open_multipart,
    part_chunks,
    read_body,
    read_field,
)
from bot.web.bodies import read_form as read_urlencoded
from bot.web.keys import service_of

FLAGS = frozenset({"private", "unlisted"})  # a form's checkboxes for visibility=…
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
# ShareX's `{input}`: the link to shorten. With a file ShareX sends it too (empty, or the text
# of a text upload, which it sends as the file): then the file is what is added.
SHAREX_INPUT = "input"
JSON_FIELDS = ITEM_FIELDS - {"file"}  # a file comes as a multipart part, not a field
FORM_FIELDS = JSON_FIELDS | FLAGS | {SHAREX_INPUT}
FIELD_LIMIT = 4096  # option fields are short
BODY_SLACK = 64 * 1024  # what a multipart body carries besides its file: fields, boundaries
NOTHING = "Nothing to store: send url, text, or a file (multipart field `file`)."
AFTER_FILE = "Send the option fields before the file, and one item per request."
STORE_ANYWAY = "To store it anyway, send allow_secrets=1."
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
        check_known(form, FORM_FIELDS | extra)
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
    kind = kind_of(fields)
    if kind is None:
        raise Invalid(NOTHING)
    check_applicable(kind, fields)
    options = item_options(service, fields, owner_id)
    if kind == "link":
        return await service.add_link(
            fields["url"], alias=fields.get("alias") or None, options=options
        )
    try:
        return await service.add_paste(
            fields["text"],
            language=fields.get("language") or None,
            filename=fields.get("filename") or None,
            options=options,
        )
    except SecretFound as exc:
        raise exc.with_override(STORE_ANYWAY) from None


def item_options(
    service: ContentService, fields: dict[str, str], owner_id: int | None
) -> ItemOptions:
    """The options a post's fields ask for, if this instance allows them (Invalid if not):
    expires, max_views, visibility (or the private / unlisted flags), password."""
    visibility = _visibility(fields)
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
        allow_secrets=_switch(fields, "allow_secrets"),
    )
    return check_options(service.settings, options)


def _switch(fields: dict[str, str], name: str) -> bool:
    """An on/off field: absent is off; anything but the usual spellings is refused."""
    value = fields.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE or not value:
        return False
    raise Invalid(f"{name} is on or off (1, true, yes, on; 0, false, no, off).")


def _visibility(fields: dict[str, str]) -> str:
    """`visibility`, or a form's `private` / `unlisted` checkbox; two that disagree are refused
    rather than one of them being dropped."""
    given = fields.get("visibility", "").strip().lower()
    asked = {given} if given else set()
    for flag in sorted(FLAGS & fields.keys()):
        value = fields[flag].strip().lower()
        if value in TRUE:
            asked.add(flag)
        elif value not in FALSE:
            raise Invalid(f"{flag} is on or off (1, true, yes, on; 0, false, no, off).")
    if len(asked) > 1:
        raise Invalid(f"Send one visibility, not {' and '.join(sorted(asked))}.")
    return asked.pop() if asked else "public"


def _form_fields(form: dict[str, str], *, with_file: bool = False) -> dict[str, str]:
    """A form's fields without the empty ones; ShareX's `input` is the link to shorten (with a
    file the file is what is added)."""
    fields = {name: value for name, value in form.items() if value}
    given = fields.pop(SHAREX_INPUT, "").strip()
    if given and not with_file:
        other = next((name for name in ("url", "text") if name in fields), None)
        if other is not None:
            raise Invalid(f"Send {SHAREX_INPUT} or {other}, not both: one item per request.")
        fields["url"] = given
    return fields


# ---- multipart: fields, then one file streamed into the store --------------------------------


async def _add_multipart(
    request: web.Request, service: ContentService, owner_id: int | None, extra: Set[str]
) -> Posted:
    reading = _Multipart(service, owner_id, extra)
    await reading.read(await open_multipart(request, BodyPace.of(service.settings.server)))
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
        name = part.name or ""
        if name != "file":
            check_known([name], FORM_FIELDS | self.extra)
        if self.created is not None:
            # A browser's empty input after the file is no option; anything else would be
            # one the file was stored without.
            if await read_field(part, name, FIELD_LIMIT, idle):
                raise Invalid(AFTER_FILE)
        elif name == "file" and part.filename == "":
            return  # a browser form's file input with no file chosen
        elif name == "file":
            fields = _form_fields(self.form, with_file=True)
            kind_of([*fields, "file"])  # Invalid when a url or a text came with the file
            check_applicable("file", fields)
            self.created = await service.add_upload(
                part_chunks(part, idle),
                filename=fields.get("filename") or part.filename,
                options=item_options(service, fields, self.owner_id),
            )
        else:
            limit = service.settings.limits.paste + 1 if name == "text" else FIELD_LIMIT
            self.form[name] = await read_field(part, name, limit, idle)


# ---- JSON ------------------------------------------------------------------------------------


async def _read_json(
    request: web.Request, service: ContentService, extra: Set[str]
) -> dict[str, str]:
    body = await _read_json_body(request, service)
    if not isinstance(body, dict):
        raise Invalid('The body is a JSON object: {"url": …} or {"text": …}.')
    check_known(body, JSON_FIELDS | extra)
    for name, value in body.items():
        if name == "allow_secrets" and isinstance(value, bool):
            body[name] = "1" if value else "0"
        elif name == "max_views":
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
    data = await read_body(
        request,
        6 * paste + FIELD_LIMIT,
        service.settings.server.read_timeout,
        f"The paste is larger than {paste:,} bytes.",
    )
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
