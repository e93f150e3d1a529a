"""Reading request bodies from strangers: every wait bounded, every malformed body a 400.

aiohttp's parsers raise ValueError (no or a bad boundary, a body cut short), LookupError (an
unknown charset) or its own HttpProcessingError (control characters in a part's headers) for a
body that is not what its Content-Type says; here they become Invalid, and a client that stops
sending (slow loris) is dropped with TimedOut instead of holding the connection forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from bot.errors import Invalid, TimedOut, TooLarge

READ_CHUNK = 256 * 1024
MALFORMED_BODY = (ValueError, LookupError, HttpProcessingError)


async def read_form(request: web.Request, read_timeout: float) -> dict[str, str]:
    """A URL-encoded form's text fields, read whole (aiohttp holds it to client_max_size)."""
    try:
        async with asyncio.timeout(read_timeout):
            posted = await request.post()
    except TimeoutError:
        raise TimedOut("The form arrived too slowly and was dropped.") from None
    except MALFORMED_BODY as exc:
        raise Invalid(f"The form is malformed: {exc}.") from None
    return {name: value for name, value in posted.items() if isinstance(value, str)}


async def open_multipart(request: web.Request) -> MultipartReader:
    """The reader of a multipart body; Invalid when its Content-Type has no usable boundary."""
    try:
        return await request.multipart()
    except MALFORMED_BODY as exc:
        raise Invalid(f"The multipart body is malformed: {exc}.") from None


async def next_part(reader: MultipartReader, idle_timeout: float) -> BodyPartReader | None:
    """The next part, None after the last; Invalid for a malformed body or a nested one,
    TimedOut when the client stalls before a part's headers (slow loris between parts)."""
    try:
        async with asyncio.timeout(idle_timeout):
            part = await reader.next()
    except TimeoutError:
        raise TimedOut(f"The upload stalled for {idle_timeout:g} s and was dropped.") from None
    except MALFORMED_BODY as exc:
        raise Invalid(f"The multipart body is malformed: {exc}.") from None
    if part is not None and not isinstance(part, BodyPartReader):
        raise Invalid("Nested multipart bodies are not accepted.")
    return part


async def read_chunk(part: BodyPartReader, idle_timeout: float) -> bytes:
    """The next chunk of a part; TimedOut when the client sends nothing for `idle_timeout` s
    (a slow-loris upload would otherwise hold a connection and a temporary file forever)."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await part.read_chunk(READ_CHUNK)
    except TimeoutError:
        raise TimedOut(f"The upload stalled for {idle_timeout:g} s and was dropped.") from None
    except MALFORMED_BODY as exc:
        raise Invalid(f"The multipart body is malformed or cut short: {exc}.") from None


async def part_chunks(part: BodyPartReader, idle_timeout: float) -> AsyncIterator[bytes]:
    """A file part's bytes, chunk by chunk, each wait bounded by `idle_timeout`."""
    while chunk := await read_chunk(part, idle_timeout):
        yield chunk


async def read_field(part: BodyPartReader, name: str, limit: int, idle_timeout: float) -> str:
    """A text part of at most `limit` bytes, as UTF-8; a paste (`text`) over it is TooLarge."""
    data = bytearray()
    while chunk := await read_chunk(part, idle_timeout):
        data += chunk
        if len(data) > limit:
            if name == "text":
                raise TooLarge(f"The paste is larger than {limit - 1:,} bytes.")
            raise Invalid(f"The field {name!r} is too long.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"The field {name!r} is not UTF-8 text.") from None
