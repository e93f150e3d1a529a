"""Slow bodies: an upload that trickles in (a byte every half second, never silent long enough
for `server.read_timeout` to cut it) is dropped with 408 once it falls behind
`server.min_upload_rate`, and counted; an upload that is slow but keeps its pace is stored."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import StreamReader
from aiohttp.test_utils import TestClient, TestServer

from bot.errors import TimedOut
from bot.runtime import Runtime
from bot.web import create_app
from bot.web.bodies import BodyPace, MultipartBody, part_chunks
from tests.helpers import id_of
from tests.security_fixtures import BOUNDARY, MULTIPART

API = "/api/v1/items"
GRACE = 1  # server.read_timeout in these tests: the longest silence, and the pace's grace
MIN_RATE = 1000  # server.min_upload_rate in these tests, bytes a second
FILE_HEAD = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="slow.bin"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()
FILE_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
async def slow_client(runtime: Runtime) -> AsyncIterator[TestClient]:
    settings = runtime.service.settings
    server = dataclasses.replace(settings.server, read_timeout=GRACE, min_upload_rate=MIN_RATE)
    runtime.service.settings = dataclasses.replace(settings, server=server)
    async with TestClient(TestServer(create_app(runtime.service))) as client:
        yield client


async def _post_trickling(
    client: TestClient, path: str, size: int, piece: int, every: float
) -> tuple[int, bytes, float]:
    """POST a multipart upload of `size` bytes, `piece` bytes every `every` seconds, over a raw
    connection; the answer's status and body, and the seconds until it came."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: refbin.test\r\nAccept: application/json\r\n"
        f"Content-Type: {MULTIPART['Content-Type']}\r\n"
        f"Content-Length: {len(FILE_HEAD) + size + len(FILE_TAIL)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    loop = asyncio.get_running_loop()

    async def trickle() -> None:
        writer.write(head + FILE_HEAD)
        for start in range(0, size, piece):
            await asyncio.sleep(every)  # the client's own slowness, not a wait for refbin
            writer.write(b"t" * min(piece, size - start))
            await writer.drain()
        writer.write(FILE_TAIL)
        await writer.drain()

    sending = asyncio.create_task(trickle())
    started = loop.time()
    try:
        async with asyncio.timeout(60):
            answer = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", answer)
            body = await reader.readexactly(int(length[1])) if length else b""
        took = loop.time() - started
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
    return int(answer.split(b" ", 2)[1]), body, took


def _requests_answered(metrics: str, path: str, status: int) -> int:
    found = re.search(
        rf'refbin_http_requests_total\{{method="POST",route="{re.escape(path)}",'
        rf'status="{status}"\}} (\d+)',
        metrics,
    )
    return int(float(found[1])) if found else 0


@pytest.mark.parametrize("path", ["/", API])
async def test_a_trickling_upload_is_dropped_with_408_and_counted(
    slow_client: TestClient, runtime: Runtime, path: str
) -> None:
    before = await (await slow_client.get("/metrics")).text()

    # A byte every half second: never silent for read_timeout, far below the minimum rate.
    status, body, took = await _post_trickling(slow_client, path, 1000, 1, 0.5)

    assert status == 408, body
    assert b"slower than 1,000 bytes a second" in body
    assert GRACE <= took < GRACE + 5
    after = await (await slow_client.get("/metrics")).text()
    assert _requests_answered(after, path, 408) == _requests_answered(before, path, 408) + 1
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []


async def test_a_slow_upload_that_keeps_the_pace_is_stored(
    slow_client: TestClient, runtime: Runtime
) -> None:
    """Three times read_timeout in all, at ten times the minimum rate: a rate, not a deadline."""
    status, body, took = await _post_trickling(slow_client, "/", 30_000, 1000, 0.1)

    assert status == 201, body
    assert took > 3 * GRACE
    item = await runtime.service.get(id_of(body.decode()))
    assert item.size == 30_000


async def test_only_the_time_spent_waiting_for_the_client_counts() -> None:
    """A store that takes its time with what came does not make the client too slow; a client
    that takes its time does."""
    stream = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())
    stream.feed_data(FILE_HEAD + b"first" * 20)
    body = MultipartBody(stream, BOUNDARY.encode(), BodyPace(grace=0.3, min_rate=MIN_RATE))
    found = await body.next(5)
    assert found is not None
    chunks = part_chunks(found, 5)
    loop = asyncio.get_running_loop()

    await anext(chunks)
    await asyncio.sleep(0.6)  # refbin storing slowly: past the grace, but not the client's doing
    loop.call_later(0.1, stream.feed_data, b"second" * 20)
    await anext(chunks)  # waited 0.1 s of the client's allowance
    started = loop.time()
    with pytest.raises(TimedOut, match="slower than 1,000 bytes a second"):
        async for _ in chunks:  # then the client sends nothing more
            pass
    assert loop.time() - started < 2  # its allowance ran out, long before 5 s of silence


class _Protocol:
    """What a StreamReader asks of its protocol: flow control it may pause and resume."""

    _reading_paused = False
    connected = True

    def pause_reading(self, *args: object, **kwargs: object) -> None:
        self._reading_paused = True

    def resume_reading(self, *args: object, **kwargs: object) -> None:
        self._reading_paused = False
