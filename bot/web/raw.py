"""Stored bytes over HTTP: `GET /{id}/raw`, and what serves bytes for other routes.

Every answer carries a strong ETag (the sha256 of the bytes; for an item whose sha256 is not
shown, a keyed hash of it, see ContentService.etag_digest), honours If-None-Match (304), one
byte range (206; several ranges get the whole body, as RFC 9110 allows), HEAD, and the headers
that keep uploaded bytes from ever running as this site: `nosniff`, a sandboxing CSP, and
`attachment` for anything a browser would render as a document. Small blobs (a paste, a
thumbnail) are answered from memory (`SMALL_BLOBS`); larger local blobs go out with sendfile(2),
on uvloop too (bot/web/zerocopy.py); blobs in a remote store are streamed, or redirected to when it
offers a URL.

A 304 is still a visit: the item is resolved (and counted) before the conditional is checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter

from bot.errors import Gone, NotFound, Unavailable
from bot.lru import SizedCache
from bot.models import Item
from bot.service import ContentService
from bot.service.images import THUMB_TYPE
from bot.service.policy import shown_to
from bot.service.sniff import TEXT_PLAIN, is_active
from bot.web import zerocopy
from bot.web.access import open_item, resolve_item
from bot.web.headers import content_disposition
from bot.web.keys import SERVICE_KEY
from bot.web.visitors import visit_of

log = logging.getLogger(__name__)

RAW_CSP = "sandbox; default-src 'none'"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_PRIVATE = "private, no-store"
READ_CHUNK = 256 * 1024
# A blob whose size the database does not hold (a thumbnail) is read whole from a remote store.
UNSIZED_LIMIT = 16 * 1024 * 1024
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_TRUE = frozenset({"1", "true", "yes", "on"})
# Blobs up to this size are answered from memory (SMALL_BLOBS), not from the store.
SMALL_BLOB_LIMIT = 64 * 1024
SMALL_BLOBS_BUDGET = 32 * 1024 * 1024


class SmallBlobs:
    """The bytes of small blobs by sha256, least recently used first out past `budget` bytes.

    Blobs are content-addressed and never change, and only bytes that hash to their key are
    kept, so an entry is always right; whether a request may have them is decided before, by
    resolving its item (a deleted or blocked item never gets this far). One per process.
    """

    def __init__(self, budget: int, limit: int) -> None:
        self.limit = limit
        self._blobs: SizedCache[str, bytes] = SizedCache(budget, size_of=len)

    def __len__(self) -> int:
        return len(self._blobs)

    @property
    def size(self) -> int:
        return self._blobs.bytes

    def get(self, sha256: str) -> bytes | None:
        return self._blobs.get(sha256)

    def put(self, sha256: str, data: bytes) -> None:
        """Keep `data`, already known to hash to `sha256`."""
        if len(data) <= self.limit:
            self._blobs.put(sha256, data)

    def offer(self, sha256: str, data: bytes) -> None:
        """Keep `data` if it is small and hashes to `sha256`."""
        if len(data) <= self.limit and hashlib.sha256(data).hexdigest() == sha256:
            self.put(sha256, data)

    def clear(self) -> None:
        self._blobs.clear()


SMALL_BLOBS = SmallBlobs(SMALL_BLOBS_BUDGET, SMALL_BLOB_LIMIT)


# ---- handlers --------------------------------------------------------------------------------


async def raw_item(request: web.Request) -> web.StreamResponse:
    """The item's bytes (a link's target as text); `?download=1` asks for an attachment,
    `?embed=1` (an <img> on the item's own page) is not counted as a visit.

    A view-limited item's content spends a view whoever asks (a preview bot, an embed), unless
    the browser holds the SEEN grant its page view left; HEAD shows no content and spends none.
    """
    service = request.app[SERVICE_KEY]
    content_id = request.match_info["content_id"]
    await redirect_to_content_origin(request, service, content_id)
    if request.method == hdrs.METH_HEAD:
        item = await resolve_item(request, content_id, None)
        return await head_of(request, service, item)
    visit = None if flag(request.query.get("embed")) else visit_of(request)
    item = (await open_item(request, content_id, visit)).item
    if item.kind == "url":
        return _target_as_text(item)
    return await serve_item(request, service, item, download=flag(request.query.get("download")))


async def head_of(request: web.Request, service: ContentService, item: Item) -> web.StreamResponse:
    """HEAD of an item's bytes, resolved without a view: the headers a GET would get, except
    for an item whose size is not shown (protected or view-limited, policy.shown_to): no
    length, range or ETag, which would tell what only its content may."""
    if shown_to(item, None).size is None:
        return headers_only(TEXT_PLAIN if item.kind in ("url", "text") else item.media_type)
    if item.kind == "url":
        return _target_as_text(item)
    return await serve_item(request, service, item, download=flag(request.query.get("download")))


def headers_only(media_type: str | None) -> web.StreamResponse:
    """A HEAD answer that says the bytes are there, and nothing about them."""
    return web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: media_type or "application/octet-stream",
            hdrs.CACHE_CONTROL: CACHE_PRIVATE,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": RAW_CSP,
        }
    )


def _target_as_text(item: Item) -> web.Response:
    assert item.target is not None
    return web.Response(
        text=item.target + "\n",
        content_type="text/plain",
        headers={hdrs.CACHE_CONTROL: CACHE_PRIVATE},
    )


def flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


async def redirect_to_content_origin(
    request: web.Request, service: ContentService, content_id: str
) -> None:
    """With `server.content_url` set, the raw bytes of files and images come from that origin:
    a request for them on the main origin is redirected there (302), before anything is
    counted. Pastes (always text/plain), password-protected and view-limited items (the
    browser's UNLOCK and SEEN grants are cookies, which do not travel across origins) are
    served where they are asked for."""
    content_url = service.settings.server.content_url
    if not content_url or urlsplit(content_url).netloc.lower() == request.host.lower():
        return
    try:
        item = await service.get(content_id)
    except Gone:  # used up, say: whether a SEEN grant still opens it is for the service
        return
    if item.kind in ("image", "file") and not item.has_password and item.max_views is None:
        raise web.HTTPFound(
            content_url + request.path_qs, headers={hdrs.CACHE_CONTROL: CACHE_PRIVATE}
        )


# ---- what to send ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """Stored bytes to answer with, and how."""

    sha256: str
    etag_digest: str  # the sha256, or a keyed hash of it where the sha256 may not be shown
    media_type: str
    size: int | None  # None: unknown to the database (a thumbnail)
    filename: str | None
    disposition: str  # inline | attachment
    cache_control: str


def cache_control(item: Item) -> str:
    """Cache for a year only what cannot change or vanish on its own and anyone may fetch."""
    if item.immutable and item.visibility in ("public", "unlisted"):
        return CACHE_IMMUTABLE
    return CACHE_PRIVATE


async def serve_item(
    request: web.Request, service: ContentService, item: Item, *, download: bool = False
) -> web.StreamResponse:
    """An item's bytes (a paste as UTF-8 text/plain); active types always as an attachment."""
    if item.sha256 is None or item.media_type is None:
        raise NotFound("This item has no stored bytes.")
    media_type = TEXT_PLAIN if item.kind == "text" else item.media_type
    disposition = "attachment" if download or is_active(media_type) else "inline"
    blob = Blob(
        sha256=item.sha256,
        etag_digest=service.etag_digest(item, item.sha256),
        media_type=media_type,
        size=item.size,
        filename=item.filename,
        disposition=disposition,
        cache_control=cache_control(item),
    )
    return await send_blob(request, service, blob)


async def serve_thumb(
    request: web.Request, service: ContentService, item: Item
) -> web.StreamResponse:
    """An image's thumbnail, cached like the image itself."""
    if item.thumb_sha256 is None:
        raise NotFound("This item has no thumbnail.")
    blob = Blob(
        sha256=item.thumb_sha256,
        etag_digest=service.etag_digest(item, item.thumb_sha256),
        media_type=THUMB_TYPE,
        size=None,
        filename=None,
        disposition="inline",
        cache_control=cache_control(item),
    )
    return await send_blob(request, service, blob)


async def send_blob(
    request: web.Request, service: ContentService, blob: Blob
) -> web.StreamResponse:
    """Answer with a blob: 304, 206, 416 or 200, by the request's conditionals and range."""
    etag = f'"{blob.etag_digest}"'
    headers = {
        hdrs.ETAG: etag,
        hdrs.CACHE_CONTROL: blob.cache_control,
        hdrs.ACCEPT_RANGES: "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": RAW_CSP,
    }
    if_none_match = request.headers.get(hdrs.IF_NONE_MATCH)
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return web.Response(status=304, headers=headers)
    headers[hdrs.CONTENT_TYPE] = blob.media_type
    headers[hdrs.CONTENT_DISPOSITION] = content_disposition(blob.filename, blob.disposition)

    # A small blob already in memory needs no store at all, unless a remote store would rather
    # hand a download to its own URL.
    whole = SMALL_BLOBS.get(blob.sha256)
    path = None
    if whole is None or blob.disposition == "attachment":
        path = service.store.local_path(blob.sha256)
    if path is None and blob.disposition == "attachment":
        url = await service.store.download_url(
            blob.sha256,
            disposition=content_disposition(blob.filename or blob.sha256),
            media_type=blob.media_type,
        )
        if url is not None:
            raise web.HTTPFound(url, headers={hdrs.CACHE_CONTROL: CACHE_PRIVATE})

    if whole is not None:
        path = None
        size = len(whole)
    elif path is not None:
        if blob.size is not None and blob.size > SMALL_BLOB_LIMIT:
            size = await _file_size(path, blob.sha256)
        else:
            whole, size = await _read_small_file(path, blob.sha256)
            if whole is not None:
                path = None
    elif blob.size is None or (blob.size <= SMALL_BLOB_LIMIT and request.method != hdrs.METH_HEAD):
        whole = await _read_whole(service, blob.sha256)
        size = len(whole)
        SMALL_BLOBS.offer(blob.sha256, whole)
    else:
        size = blob.size

    try:
        wanted = requested_range(request, etag, size)
    except RangeNotSatisfiable:
        headers[hdrs.CONTENT_RANGE] = f"bytes */{size}"
        del headers[hdrs.CONTENT_DISPOSITION]
        return web.Response(status=416, headers=headers)
    status, start, end = 200, 0, size
    if wanted is not None:
        status, start, end = 206, wanted.start, wanted.end
        headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{size}"

    if whole is not None:
        return web.Response(status=status, headers=headers, body=whole[start:end])
    if path is not None:
        return FileSlice(path, start, end - start, status=status, headers=headers)
    if request.method == hdrs.METH_HEAD or end == start:
        return StreamSlice(None, end - start, status=status, headers=headers)
    chunks = service.open_blob(blob.sha256, start, end)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:
        raise _missing(blob.sha256) from None
    return StreamSlice(_prepend(first, chunks), end - start, status=status, headers=headers)


async def _read_small_file(path: Path, sha256: str) -> tuple[bytes | None, int]:
    """A local blob's bytes if it is small (and then kept in SMALL_BLOBS), with its size; for
    a larger blob only its size. One trip to the thread pool either way."""
    try:
        data, size, intact = await asyncio.get_running_loop().run_in_executor(
            None, _read_if_small, path, sha256
        )
    except FileNotFoundError:
        raise _missing(sha256) from None
    if data is not None:
        if intact:
            SMALL_BLOBS.put(sha256, data)
        else:
            log.error("blob %s does not hash to its name; served, not kept in memory", sha256)
    return data, size


def _read_if_small(path: Path, sha256: str) -> tuple[bytes | None, int, bool]:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > SMALL_BLOB_LIMIT:
            return None, size, False
        data = handle.read(SMALL_BLOB_LIMIT + 1)
    if len(data) > SMALL_BLOB_LIMIT:  # it grew since the fstat: not a committed blob
        return None, size, False
    return data, len(data), hashlib.sha256(data).hexdigest() == sha256


async def _file_size(path: Path, sha256: str) -> int:
    try:
        stat = await asyncio.get_running_loop().run_in_executor(None, os.stat, path)
    except FileNotFoundError:
        raise _missing(sha256) from None
    return stat.st_size


async def _read_whole(service: ContentService, sha256: str) -> bytes:
    data = bytearray()
    try:
        async for chunk in service.open_blob(sha256):
            data += chunk
            if len(data) > UNSIZED_LIMIT:
                raise Unavailable("The stored bytes are larger than expected.")
    except FileNotFoundError:
        raise _missing(sha256) from None
    return bytes(data)


def _missing(sha256: str) -> Unavailable:
    log.error("blob %s is in the database but not in the store", sha256)
    return Unavailable("The stored bytes of this item are missing; try again later.")


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


# ---- conditionals and ranges -----------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    """A Range header that is malformed or asks only for bytes past the end."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: `*` or any listed tag, compared weakly (RFC 9110 13.1.2)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def requested_range(request: web.Request, etag: str, size: int) -> ByteRange | None:
    """The single range to send, or None for the whole body. An If-Range that is not our
    (strong) ETag means the client's copy is stale: it gets the whole body."""
    header = request.headers.get(hdrs.RANGE)
    if header is None or size == 0:
        return None
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range.strip() != etag:
        return None
    return parse_range(header, size)


def parse_range(header: str, size: int) -> ByteRange | None:
    """One `bytes=` range of a body of `size` (> 0) bytes: `a-b`, `a-` or the suffix `-n`.

    None for a unit other than bytes, or for several ranges (we answer those with the whole
    body); RangeNotSatisfiable for a malformed range or one that starts past the end.
    """
    unit, equals, spec = header.partition("=")
    if not equals:
        raise RangeNotSatisfiable(header)
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = _RANGE_SPEC.fullmatch(spec.strip())
    if match is None or not any(match.groups()):
        raise RangeNotSatisfiable(header)
    try:
        first = int(match.group(1)) if match.group(1) else None
        last = int(match.group(2)) if match.group(2) else None
    except ValueError:  # more digits than int() will read
        raise RangeNotSatisfiable(header) from None
    if first is None:
        assert last is not None
        if last == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - last), size)
    if (last is not None and last < first) or first >= size:
        raise RangeNotSatisfiable(header)
    return ByteRange(first, size if last is None else min(last + 1, size))


# ---- responses that send their body when aiohttp prepares them ------------------------------


class _LazyBody(web.StreamResponse):
    """A response whose body is written when aiohttp prepares it, after every middleware has
    had its say on the headers. HEAD and empty bodies send the headers only."""

    def __init__(self, count: int, *, status: int, headers: dict[str, str]) -> None:
        super().__init__(status=status, headers=headers)
        self.content_length = count

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self.prepared or request.method == hdrs.METH_HEAD or not self.content_length:
            return await super().prepare(request)
        return await self._send(request)

    async def _send(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        raise NotImplementedError

    async def _begin(self, request: web.BaseRequest) -> AbstractStreamWriter:
        writer = await super().prepare(request)
        assert writer is not None
        return writer


class FileSlice(_LazyBody):
    """`count` bytes of a local file from `offset`, sent with sendfile where the loop can."""

    def __init__(
        self, path: Path, offset: int, count: int, *, status: int, headers: dict[str, str]
    ) -> None:
        super().__init__(count, status=status, headers=headers)
        self._path = path
        self._offset = offset
        self._count = count

    async def _send(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        loop = asyncio.get_running_loop()
        handle = await loop.run_in_executor(None, self._path.open, "rb")
        try:
            writer = await self._begin(request)
            transport = request.transport
            if transport is None:
                raise ConnectionResetError("Connection lost")
            if not await self._sendfile(loop, transport, writer, handle):
                await self._copy(handle)
            await self.write_eof()
            return writer
        finally:
            handle.close()

    async def _sendfile(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        writer: AbstractStreamWriter,
        handle: IO[bytes],
    ) -> bool:
        """Zero-copy: the loop's own sendfile (asyncio's), else sendfile(2) on the connection's
        socket (uvloop, which has no loop.sendfile). False, with nothing sent, when neither can
        serve this connection (TLS, compression)."""
        if self.compression:
            return False
        try:
            sent = await loop.sendfile(transport, handle, self._offset, self._count)
            if sent < self._count:  # asyncio stops quietly where the file ends
                raise zerocopy.ShortFile(f"{self._path} ended {self._count - sent} bytes early")
        except NotImplementedError:
            try:
                await zerocopy.send_file(transport, handle, self._offset, self._count, writer.drain)
            except zerocopy.Unsupported:
                return False
        writer.output_size += self._count  # for the access log: the body did not pass through
        return True

    async def _copy(self, handle: IO[bytes]) -> None:
        """Read and write in chunks, for connections sendfile cannot serve."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, handle.seek, self._offset)
        remaining = self._count
        while remaining > 0:
            chunk = await loop.run_in_executor(None, handle.read, min(READ_CHUNK, remaining))
            if not chunk:
                # The promised length cannot be met: aiohttp closes the connection on an error.
                raise zerocopy.ShortFile(f"{self._path} ended {remaining} bytes early")
            remaining -= len(chunk)
            await self.write(chunk)


class StreamSlice(_LazyBody):
    """Bytes streamed from a blob store's iterator."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes] | None,
        count: int,
        *,
        status: int,
        headers: dict[str, str],
    ) -> None:
        super().__init__(count, status=status, headers=headers)
        self._chunks = chunks

    async def _send(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        writer = await self._begin(request)
        if self._chunks is not None:
            async for chunk in self._chunks:
                await self.write(chunk)
        return writer


ROUTES = [web.get("/{content_id}/raw", raw_item)]
