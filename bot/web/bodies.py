"""Reading request bodies from strangers: every wait bounded, every malformed body a 400.

aiohttp's parsers raise ValueError (no or a bad boundary, a body cut short), LookupError (an
unknown charset) or its own HttpProcessingError (control characters in a part's headers) for a
body that is not what its Content-Type says; here they become Invalid, and a client that stops
sending (slow loris) is dropped with TimedOut instead of holding the connection forever. A form
or a JSON body (small) must arrive whole within `server.read_timeout`; a multipart body (a file,
up to the upload limit) may take longer, but must never be silent for `read_timeout` seconds
and, once its first `read_timeout` seconds of waiting are spent, must average
`server.min_upload_rate` bytes a second (`BodyPace`), so a trickle is not held for ever either.

Multipart bodies are read by `MultipartBody`, not by aiohttp's MultipartReader: a file part is
the one big thing a request carries, and aiohttp's reader copies every byte of it twice more
(into a window of the previous and the current chunk, then out of it) in 256 KiB steps. Here a
part's bytes are handed on as the HTTP parser delivered them (views of its chunks, not copies),
and the delimiter is found with one `bytes.find` per chunk, plus a search of the few bytes that
straddle two chunks. The part headers still go through aiohttp's own header parser.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import StreamReader, web
from aiohttp.hdrs import CONTENT_DISPOSITION, CONTENT_TYPE
from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import HeadersParser
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from multidict import CIMultiDictProxy

from bot.config import ServerSettings
from bot.errors import Invalid, TimedOut, TooLarge

MALFORMED_BODY = (ValueError, LookupError, HttpProcessingError)
MAX_BOUNDARY = 70  # RFC 2046's limit, as aiohttp enforced it
MAX_HEADER_LINE = 8190  # a part's header line; aiohttp's limit
MAX_HEADERS = 128  # header lines in one part; aiohttp's limit
MAX_PREAMBLE = 64 * 1024  # what a client may send before the first boundary (browsers: nothing)

# A part's bytes as they are handed on: views of the HTTP parser's chunks, or a few bytes.
Chunk = bytes | memoryview


class BodyPace:
    """The slowest a body may arrive, as Apache's mod_reqtimeout has it (`body=N,MinRate=R`):
    `grace` seconds of waiting, then one more second for each `min_rate` bytes received (0: no
    minimum). Only the time spent waiting for the client counts, not the time refbin spends
    storing what came, so a slow store never makes a client too slow."""

    def __init__(self, grace: float, min_rate: int) -> None:
        self.grace = grace
        self.min_rate = min_rate
        self.waited = 0.0  # seconds spent waiting for the client's bytes so far

    @classmethod
    def of(cls, server: ServerSettings) -> BodyPace:
        """The pace an instance asks of uploads: read_timeout's grace, min_upload_rate's rate."""
        return cls(server.read_timeout, server.min_upload_rate)

    def allowance(self, received: int) -> float:
        """Seconds the client may still take to send more, having sent `received` bytes."""
        if not self.min_rate:
            return float("inf")
        return self.grace + received / self.min_rate - self.waited

    def too_slow(self) -> TimedOut:
        return TimedOut(
            f"The upload arrived slower than {self.min_rate:,} bytes a second and was dropped."
        )


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


async def read_body(request: web.Request, limit: int, read_timeout: float, too_large: str) -> bytes:
    """A small body (JSON) read whole within `read_timeout`; TooLarge(`too_large`) past `limit`
    bytes, refused before it is all read."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(too_large)
    data = bytearray()
    try:
        async with asyncio.timeout(read_timeout):
            while chunk := await request.content.readany():
                data += chunk
                if len(data) > limit:
                    raise TooLarge(too_large)
    except TimeoutError:
        raise TimedOut("The body arrived too slowly and was dropped.") from None
    return bytes(data)


def _stalled(idle_timeout: float) -> TimedOut:
    return TimedOut(f"The upload stalled for {idle_timeout:g} s and was dropped.")


def _malformed(reason: str) -> Invalid:
    return Invalid(f"The multipart body is malformed: {reason}.")


class Part:
    """One part of a multipart body: its headers, its form name and file name; its bytes are
    read with `part_chunks` or `read_field`, once, before the next part is asked for."""

    def __init__(self, body: MultipartBody, headers: CIMultiDictProxy[str]) -> None:
        self._body = body
        self.headers = headers
        _, params = parse_content_disposition(headers.get(CONTENT_DISPOSITION))
        self.name = content_disposition_filename(params, "name")
        self.filename = content_disposition_filename(params, "filename")


class MultipartBody:
    """A multipart body read from the request stream, part by part.

    The stream is `preamble --B CRLF headers CRLF CRLF bytes CRLF --B CRLF headers … CRLF --B--`:
    a part's bytes end at the first CRLF--B (the delimiter), which its bytes cannot contain.
    """

    def __init__(
        self, content: StreamReader, boundary: bytes, pace: BodyPace | None = None
    ) -> None:
        self._content = content
        self._pace = pace
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        # Read from the stream, consumed up to _pos: lines and parts are taken by offset, so
        # a chunk holding many small parts is not copied once per line.
        self._buffer = b""
        self._pos = 0
        self._consumed = 0  # bytes taken from the stream
        self._started = False  # past the preamble
        self._in_part = False  # a part's bytes are being read (or were left unread)
        self._done = False  # past the close delimiter

    async def _more(self, idle_timeout: float) -> bytes:
        """The next chunk of the stream, as the HTTP parser delivered it (never empty, never a
        copy: several chunks waiting are taken one by one, not joined); TimedOut when the
        client sends nothing for `idle_timeout` s or falls behind its pace, Invalid at the end
        of the body."""
        content = self._content
        try:
            while True:
                if content.total_bytes > self._consumed:
                    # A chunk has arrived: it is taken without a wait, nor a timer to arm.
                    chunk, end_of_http_chunk = await content.readchunk()
                else:
                    chunk, end_of_http_chunk = await self._wait_for_chunk(idle_timeout)
                if chunk:
                    self._consumed += len(chunk)
                    return chunk
                # (b"", True) ends an HTTP chunk, or is what an empty body (aiohttp's shared
                # EMPTY_PAYLOAD) answers once its end was read: at_eof() tells them apart.
                if not end_of_http_chunk or content.at_eof():
                    raise _malformed("it ends before its closing boundary")
        except MALFORMED_BODY as exc:  # a chunked body the HTTP parser refused
            raise _malformed(str(exc)) from None

    async def _wait_for_chunk(self, idle_timeout: float) -> tuple[bytes, bool]:
        """The next chunk, waited for no longer than `idle_timeout` nor than the pace allows."""
        pace = self._pace
        allowed = (
            idle_timeout if pace is None else min(idle_timeout, pace.allowance(self._consumed))
        )
        if pace is not None and allowed <= 0:
            raise pace.too_slow()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(allowed):
                return await self._content.readchunk()
        except TimeoutError:
            if pace is not None and allowed < idle_timeout:
                raise pace.too_slow() from None
            raise _stalled(idle_timeout) from None
        finally:
            if pace is not None:
                pace.waited += loop.time() - started

    async def _line(self, idle_timeout: float, limit: int, *, at_end_ok: bool = False) -> bytes:
        """The next line of the stream without its LF (a CR before it is the caller's)."""
        start = self._pos
        while (end := self._buffer.find(b"\n", start)) == -1:
            if len(self._buffer) - self._pos > limit:
                raise _malformed("a line is too long")
            try:
                more = await self._more(idle_timeout)
            except Invalid:
                if at_end_ok and len(self._buffer) > self._pos:
                    line = self._buffer[self._pos :]
                    self._buffer, self._pos = b"", 0
                    return line
                raise
            self._buffer = self._buffer[self._pos :] + more
            self._pos = 0
            start = len(self._buffer) - len(more)
        if end - self._pos > limit:
            raise _malformed("a line is too long")
        line = self._buffer[self._pos : end]
        self._pos = end + 1
        return line

    async def next(self, idle_timeout: float) -> Part | None:
        """The next part, None after the close delimiter."""
        if self._done:
            return None
        if self._in_part:  # the previous part's bytes were not read: skip them
            async for _ in self.part_bytes(idle_timeout):
                pass
        if not self._started:
            await self._skip_preamble(idle_timeout)
            self._started = True
        else:
            # Just past a delimiter: the rest of its line is padding, or `--` to close.
            rest = (await self._line(idle_timeout, MAX_HEADER_LINE, at_end_ok=True)).rstrip()
            if rest == b"--":
                self._done = True
            elif rest:
                raise _malformed("a boundary is followed by other bytes")
        if self._done:
            return None
        headers = await self._headers(idle_timeout)
        if parse_mimetype(headers.get(CONTENT_TYPE, "")).type == "multipart":
            raise Invalid("Nested multipart bodies are not accepted.")
        self._in_part = True
        return Part(self, headers)

    async def _skip_preamble(self, idle_timeout: float) -> None:
        skipped = 0
        while True:
            line = await self._line(idle_timeout, MAX_PREAMBLE, at_end_ok=True)
            stripped = line.rstrip()
            if stripped == self._dash_boundary:
                return
            if stripped == self._dash_boundary + b"--":
                self._done = True
                return
            skipped += len(line) + 1
            if skipped > MAX_PREAMBLE:
                raise _malformed("no boundary where the body starts")

    async def _headers(self, idle_timeout: float) -> CIMultiDictProxy[str]:
        lines = []
        while line := (await self._line(idle_timeout, MAX_HEADER_LINE)).rstrip(b"\r\n"):
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise _malformed("a part has too many headers")
        lines.append(b"")
        headers, _ = HeadersParser(max_field_size=MAX_HEADER_LINE).parse_headers(lines)
        return headers

    async def part_bytes(self, idle_timeout: float) -> AsyncIterator[Chunk]:
        """The current part's bytes up to its delimiter, each wait bounded by `idle_timeout`.

        Most chunks are views of the stream's own chunks: all of a chunk but its last
        len(delimiter) - 1 bytes, which are held back (they may be the start of a delimiter)
        and handed on, as a small chunk of their own, once the next chunk shows they are not.
        """
        delimiter = self._delimiter
        keep = len(delimiter) - 1
        # The CRLF ending the part's headers is also the start of the delimiter when the part
        # is empty: it is held as if it were the part's first bytes, and never handed on.
        held, skip = b"\r\n", 2
        data, start = self._buffer, self._pos  # data[start:] is the stream's next bytes
        self._buffer, self._pos = b"", 0
        while True:
            if start == len(data):
                data, start = await self._more(idle_timeout), 0
            if held:
                # A delimiter that starts in `held` ends within the next `keep` bytes.
                at = (held + data[start : start + keep]).find(delimiter)
                if at != -1:
                    if at > skip:
                        yield held[skip:at]
                    self._finish_part(data, start + at + len(delimiter) - len(held))
                    return
            at = data.find(delimiter, start)
            if at != -1:
                if len(held) > skip:
                    yield held[skip:]
                if at > start:
                    yield memoryview(data)[start:at]
                self._finish_part(data, at + len(delimiter))
                return
            if len(data) - start >= keep:
                if len(held) > skip:
                    yield held[skip:]
                if len(data) - start > keep:
                    yield memoryview(data)[start : len(data) - keep]
                held, skip = data[len(data) - keep :], 0
            else:
                joined = held + data[start:]
                cut = max(0, len(joined) - keep)
                if cut > skip:
                    yield joined[skip:cut]
                held, skip = joined[cut:], max(0, skip - cut)
            start = len(data)

    def _finish_part(self, data: bytes, pos: int) -> None:
        self._buffer, self._pos = data, pos
        self._in_part = False


async def open_multipart(request: web.Request, pace: BodyPace | None = None) -> MultipartBody:
    """The reader of a multipart body, at `pace` if given; Invalid when its Content-Type has no
    usable boundary."""
    boundary = parse_mimetype(request.headers.get(CONTENT_TYPE, "")).parameters.get("boundary")
    if not boundary:
        raise _malformed("its Content-Type has no boundary")
    if len(boundary) > MAX_BOUNDARY:
        raise _malformed(f"its boundary is longer than {MAX_BOUNDARY} characters")
    try:
        encoded = boundary.encode("ascii")
    except UnicodeEncodeError:
        raise _malformed("its boundary is not ASCII") from None
    return MultipartBody(request.content, encoded, pace)


async def next_part(reader: MultipartBody, idle_timeout: float) -> Part | None:
    """The next part, None after the last; Invalid for a malformed body or a nested one,
    TimedOut when the client stalls before a part's headers (slow loris between parts)."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await reader.next(idle_timeout)
    except TimeoutError:
        raise _stalled(idle_timeout) from None
    except MALFORMED_BODY as exc:
        raise _malformed(str(exc)) from None


def part_chunks(part: Part, idle_timeout: float) -> AsyncIterator[Chunk]:
    """A file part's bytes, chunk by chunk, each wait bounded by `idle_timeout` (a slow-loris
    upload would otherwise hold a connection and a temporary file forever)."""
    return part._body.part_bytes(idle_timeout)


async def read_field(part: Part, name: str, limit: int, idle_timeout: float) -> str:
    """A text part of at most `limit` bytes, as UTF-8; a paste (`text`) over it is TooLarge."""
    data = bytearray()
    async for chunk in part_chunks(part, idle_timeout):
        data += chunk
        if len(data) > limit:
            if name == "text":
                raise TooLarge(f"The paste is larger than {limit - 1:,} bytes.")
            raise Invalid(f"The field {name!r} is too long.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"The field {name!r} is not UTF-8 text.") from None
