"""Connections as hostile or broken clients hold them, over real sockets to the server `refbin
web` runs (bot/server.py's start_web): a request head trickled a byte at a time is cut at
server.header_timeout while kept-alive clients are not; an upload the client abandons is counted
as 499 (not as an outage); a malformed request is a 400 logged in one line, never a traceback."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import Runtime
from bot.server import start_web
from tests.helpers import free_port

HEAD_TIMEOUT = 2
READ_TIMEOUT = 2


@dataclass
class Server:
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def exchange(self, data: bytes, *, wait: float = 10) -> bytes:
        """Send `data` on a new connection; everything the server answers until it closes."""
        reader, writer = await self.connect()
        try:
            writer.write(data)
            await writer.drain()
            return await asyncio.wait_for(reader.read(), wait)
        finally:
            writer.close()

    async def requests_counted(self) -> dict[tuple[str, str, str], float]:
        """refbin_http_requests_total by (method, route, status), from /metrics."""
        answer = await self.exchange(
            b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        text = answer.split(b"\r\n\r\n", 1)[1].decode()
        return {
            (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "refbin_http_requests_total"
        }


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[Server]:
    """refbin's web server as `refbin web` starts it, with short deadlines."""
    port = free_port()
    service = runtime.service
    service.settings = dataclasses.replace(
        service.settings,
        server=dataclasses.replace(
            service.settings.server,
            port=port,
            header_timeout=HEAD_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            min_upload_rate=0,  # the body's own pace has tests of its own (test_slow_bodies.py)
        ),
    )
    runner = await start_web(service)
    try:
        yield Server(port)
    finally:
        await runner.cleanup()


async def closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes the connection (at most `limit`), and what it sent."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await asyncio.wait_for(reader.read(), limit)
    return loop.time() - started, answer


async def trickle(writer: asyncio.StreamWriter) -> None:
    """A header, one byte every half second: never silent for long enough to be idle."""
    for byte in b"X-Slow: " + b"a" * 100:
        await asyncio.sleep(0.5)
        writer.write(bytes([byte]))


def status_of(answer: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, answer[:200]
    return int(match.group(1))


# ---- the head's deadline -------------------------------------------------------------------


async def test_a_head_trickled_a_byte_a_second_is_cut_at_the_deadline(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.web.protocol")
    reader, writer = await server.connect()
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    trickling = asyncio.create_task(trickle(writer))
    try:
        elapsed, answer = await closed_after(reader, HEAD_TIMEOUT + 5)
    finally:
        trickling.cancel()
        writer.close()
    assert answer == b""  # nothing was answered: the head never ended
    assert HEAD_TIMEOUT - 0.5 <= elapsed <= HEAD_TIMEOUT + 1.5
    assert any("no complete request head" in r.getMessage() for r in caplog.records)


async def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(server: Server) -> None:
    reader, writer = await server.connect()
    try:
        elapsed, answer = await closed_after(reader, HEAD_TIMEOUT + 5)
    finally:
        writer.close()
    assert answer == b""
    assert elapsed <= HEAD_TIMEOUT + 1.5


async def test_kept_alive_clients_and_slow_bodies_are_unaffected(server: Server) -> None:
    reader, writer = await server.connect()
    try:
        get = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        # Requests, pipelined or one by one, on one connection idle longer than the deadline.
        writer.write(get + get)
        for _ in range(2):
            assert await read_response(reader) == 200
        await asyncio.sleep(HEAD_TIMEOUT + 1)  # idle between requests is keep-alive's business
        # A head in pieces, complete within the deadline.
        for piece in (b"GET /healthz HT", b"TP/1.1\r\nHost:", b" t\r\n\r\n"):
            writer.write(piece)
            await asyncio.sleep(HEAD_TIMEOUT / 4)
        assert await read_response(reader) == 200
        # An upload whose bytes take longer than the head's deadline, never idle for long.
        part_head = b'--b0und\r\nContent-Disposition: form-data; name="file"; filename="s"\r\n\r\n'
        pieces = [b"a" * 10] * 5 + [b"a" * 10 + b"\r\n--b0und--\r\n"]
        writer.write(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b0und\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(part_head) + len(b"".join(pieces))) + part_head
        )
        for piece in pieces:
            await asyncio.sleep(0.5)  # a quarter of read_timeout
            writer.write(piece)
        assert await read_response(reader) == 201
        # The next head on the same connection is timed from its first byte: cut when trickled.
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        trickling = asyncio.create_task(trickle(writer))
        try:
            elapsed, answer = await closed_after(reader, HEAD_TIMEOUT + 5)
        finally:
            trickling.cancel()
        assert answer == b""
        assert HEAD_TIMEOUT - 0.5 <= elapsed <= HEAD_TIMEOUT + 1.5
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> int:
    """One response from a kept-alive connection: its status (its body is read and dropped)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert length, head
    await reader.readexactly(int(length.group(1)))
    return status_of(head)


# ---- a client that goes away, and malformed requests --------------------------------------

UPLOAD = (
    b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b0und\r\n"
    b"Content-Length: 1000000\r\n\r\n"
    b'--b0und\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
)


@pytest.mark.parametrize("path", ["/", "/api/v1/items"])
async def test_an_upload_the_client_abandons_is_a_499_not_an_outage(
    server: Server, runtime: Runtime, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await server.connect()
    writer.write(UPLOAD % path.encode() + b"x" * 200_000)
    await writer.drain()
    writer.transport.abort()  # gone, a fifth of the way through
    for _ in range(100):
        counted = await server.requests_counted()
        if ("POST", path, "499") in counted:
            break
        await asyncio.sleep(0.05)
    assert counted.get(("POST", path, "499")) == 1
    assert not [key for key in counted if key[2].startswith("5")]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == []  # no "unavailable", no traceback
    assert [r.levelno for r in caplog.records if "went away" in r.getMessage()] == [logging.DEBUG]
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


MALFORMED = {
    "bad-request-line": b"GET / HTTP/1.1 trailing\r\nHost: t\r\n\r\n",
    "not-http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "space-in-a-header-name": b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: y\r\n\r\n",
    "control-in-a-header": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n",
    "header-line-too-long": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n",
    "bad-chunk-size": (
        b"POST /api/v1/items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ),
    "length-and-chunked": (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n"
    ),
    "bad-multipart-boundary": (
        b'POST / HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=""\r\n'
        b"Content-Length: 5\r\n\r\nhello"
    ),
    "no-such-boundary-in-the-body": (
        b"POST /api/v1/items HTTP/1.1\r\nHost: t\r\n"
        b"Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: 5\r\n\r\nhello"
    ),
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_request_is_a_400_logged_in_one_line(
    server: Server, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    head, _, body = request_bytes.partition(b"\r\n\r\n")
    answer = await server.exchange(head + b"\r\nConnection: close\r\n\r\n" + body)
    assert status_of(answer) == 400
    assert b"nosniff" in answer.lower()
    records = [r for r in caplog.records if not r.name.startswith(("asyncio", "bot.db"))]
    assert [r for r in records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert all("\n" not in r.getMessage() for r in records)
    assert len([r for r in records if r.name == "bot.web.protocol"]) <= 1


LATE_BAD_CHUNKS = {
    "multipart": (b"/", b"multipart/form-data; boundary=b0und", b"7\r\n--b0und\r\n"),
    "json": (b"/api/v1/items", b"application/json", b"1\r\n{\r\n"),
}


@pytest.mark.parametrize(
    ("path", "content_type", "first"), LATE_BAD_CHUNKS.values(), ids=LATE_BAD_CHUNKS.keys()
)
async def test_a_bad_chunk_in_the_middle_of_a_body_is_answered_without_a_traceback(
    server: Server, caplog: pytest.LogCaptureFixture, path: bytes, content_type: bytes, first: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await server.connect()
    try:
        writer.write(
            b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%s" % (path, content_type, first)
        )
        await asyncio.sleep(0.2)  # the handler is reading the body when the framing breaks
        writer.write(b"zz\r\nabc\r\n0\r\n\r\n")
        # aiohttp's parser stops at the broken framing without telling the body: the body
        # stalls, and is dropped after read_timeout.
        assert await read_response(reader) in (400, 408)
    finally:
        writer.close()
    records = [r for r in caplog.records if not r.name.startswith(("asyncio", "bot.db"))]
    assert [r for r in records if r.levelno >= logging.WARNING or r.exc_info] == []
