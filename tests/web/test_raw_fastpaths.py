"""The two fast paths of GET /{id}/raw, over real HTTP on loopback:

- local files sent with sendfile(2) on the connection's own socket when the loop has no
  `loop.sendfile` (uvloop, which `refbin web` runs on): bytes, headers, ranges, HEAD and 304
  exact, keep-alive intact after a sendfile body (also with pipelined requests), a transport
  buffer that still holds bytes flushed first, and a client that goes away mid-body;
- small blobs answered from an in-memory LRU of their bytes, still behind the item's access
  checks.

The uvloop tests run the real application, with its own runtime on the same database and data
folder, on a uvloop loop in a thread; the client is a raw socket, so every byte on the
connection is accounted for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import uvloop
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from bot.config import Settings
from bot.models import ItemOptions
from bot.runtime import Runtime, open_runtime
from bot.web import create_app, raw, zerocopy
from tests.helpers import chunks_of, png_bytes

MiB = 1024 * 1024
CSP = "sandbox; default-src 'none'"
IMMUTABLE = "public, max-age=31536000, immutable"


# ---- a server on another loop, and a client that sees every byte -----------------------------


@contextlib.asynccontextmanager
async def served(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    make_app: Callable[[], contextlib.AbstractAsyncContextManager[web.Application]],
) -> AsyncIterator[int]:
    """Serve the app `make_app` opens on a loop of `loop_factory`'s in a thread; its port."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def main() -> None:
        loop = loop_factory()

        async def serve() -> None:
            async with make_app() as app:
                runner = web.AppRunner(app, shutdown_timeout=5)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                stop = asyncio.Event()
                state.update(port=runner.addresses[0][1], stop=stop, loop=loop)
                ready.set()
                try:
                    await stop.wait()
                finally:
                    await runner.cleanup()

        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # reported to the test below
            state["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="served", daemon=True)
    thread.start()
    await asyncio.to_thread(ready.wait, 60)
    if "error" in state:
        raise state["error"]  # type: ignore[misc]
    try:
        yield state["port"]  # type: ignore[misc]
    finally:
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        await asyncio.to_thread(thread.join, 60)
        assert not thread.is_alive()
        assert "error" not in state, state.get("error")


def real_app(settings: Settings) -> Callable[[], contextlib.AbstractAsyncContextManager]:
    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[web.Application]:
        async with open_runtime(settings) as runtime:
            yield create_app(runtime.service)

    return make


class Connection:
    """One HTTP/1.1 connection, requests written and responses read by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, rcvbuf: int | None = None) -> Connection:
        sock = socket.socket()
        if rcvbuf is not None:  # a small window: the server's socket fills up at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4 * MiB)
        return cls(reader, writer)

    def send(self, method: str, path: str, headers: dict[str, str] | None = None) -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: refbin.test"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def response(self, method: str = "GET") -> tuple[int, CIMultiDict[str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        assert status_line.startswith("HTTP/1.1 "), status_line
        status = int(status_line.split()[1])
        headers: CIMultiDict[str] = CIMultiDict()
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.add(name.strip(), value.strip())
        if method == "HEAD" or status == 304:
            return status, headers, b""
        body = await asyncio.wait_for(self.reader.readexactly(int(headers["Content-Length"])), 60)
        return status, headers, body

    async def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
        self.send(method, path, headers)
        return await self.response(method)

    async def nothing_more(self) -> None:
        """No stray byte follows the last response: the stream is exactly the responses."""
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.reader.read(1), 0.2)

    def reset(self) -> None:
        """Go away at once: RST, not FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.close()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class SendfileSpy:
    """Counts zerocopy.send_file calls and how each ended."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outcomes: list[str] = []
        real = zerocopy.send_file

        async def spy(*args, **kwargs):
            try:
                sent = await real(*args, **kwargs)
            except BaseException as exc:
                self.outcomes.append(type(exc).__name__)
                raise
            self.outcomes.append(f"sent {sent}")
            return sent

        monkeypatch.setattr(zerocopy, "send_file", spy)


@pytest.fixture
def sendfile_spy(monkeypatch: pytest.MonkeyPatch) -> SendfileSpy:
    return SendfileSpy(monkeypatch)


@pytest.fixture
def no_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any response that falls back to reading and writing the file."""

    async def refuse(self, handle):
        raise AssertionError("the file was copied, not sent with sendfile")

    monkeypatch.setattr(raw.FileSlice, "_copy", refuse)


async def upload(runtime: Runtime, data: bytes, filename: str | None = None, **options) -> str:
    created = await runtime.service.add_upload(
        chunks_of(data), filename=filename, options=ItemOptions(**options)
    )
    return created.item.content_id


# ---- sendfile under uvloop -------------------------------------------------------------------


async def test_uvloop_sends_files_with_sendfile_and_keeps_the_connection(
    settings: Settings, runtime: Runtime, sendfile_spy: SendfileSpy, no_copy: None
) -> None:
    data = os.urandom(3 * MiB + 17)
    content_id = await upload(runtime, data, "data.bin")
    paste = (await runtime.service.add_paste("small and kept in memory\n")).item.content_id
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    path = f"/{content_id}/raw"

    async with served(uvloop.new_event_loop, real_app(settings)) as port:
        conn = await Connection.open(port)
        first = await conn.get(path)
        second = await conn.get(path + "?download=1")
        ranged = await conn.get(path, {"Range": f"bytes={MiB}-{2 * MiB - 1}"})
        head = await conn.get(path, method="HEAD")
        not_modified = await conn.get(path, {"If-None-Match": etag})
        small = await conn.get(f"/{paste}/raw")
        tail = await conn.get(path, {"Range": "bytes=-1000"})
        await conn.nothing_more()
        await conn.close()

    for status, headers, body in (first, second):
        assert status == 200
        assert body == data
        assert headers["Content-Length"] == str(len(data))
        assert headers["ETag"] == etag
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Cache-Control"] == IMMUTABLE
        assert headers["Accept-Ranges"] == "bytes"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == CSP
        assert "Connection" not in headers  # kept alive
    assert first[1]["Content-Disposition"].startswith("inline;")
    assert second[1]["Content-Disposition"].startswith("attachment;")
    status, headers, body = ranged
    assert status == 206
    assert headers["Content-Range"] == f"bytes {MiB}-{2 * MiB - 1}/{len(data)}"
    assert body == data[MiB : 2 * MiB]
    status, headers, body = head
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(data))
    assert not_modified[0] == 304 and not_modified[1]["ETag"] == etag
    assert small[0] == 200 and small[2] == b"small and kept in memory\n"
    assert small[1]["Content-Security-Policy"] == CSP
    assert tail[0] == 206 and tail[2] == data[-1000:]
    # Whole, download, first range, last range: each with sendfile(2), none copied.
    assert sendfile_spy.outcomes == [
        f"sent {len(data)}",
        f"sent {len(data)}",
        f"sent {MiB}",
        "sent 1000",
    ]


async def test_pipelined_requests_through_a_small_window_arrive_whole(
    settings: Settings, runtime: Runtime, sendfile_spy: SendfileSpy, no_copy: None
) -> None:
    """Responses queue up behind a client that reads slowly: the transport's buffer may hold a
    response's headers (or a small body from memory) when a sendfile body is due."""
    data = os.urandom(2 * MiB + 5)
    content_id = await upload(runtime, data, "slow.bin")
    small_text = "x" * 60_000 + "\n"
    paste = (await runtime.service.add_paste(small_text)).item.content_id
    # A page larger than the socket takes at once: the transport holds its tail.
    long_text = "just words and more words\n" * 40_000
    page = (await runtime.service.add_paste(long_text, language="text")).item.content_id
    html = {"Accept": "text/html"}
    path = f"/{content_id}/raw"
    plan: list[tuple[str, dict[str, str], bytes | None]] = [
        (path, {}, data),
        (f"/{paste}/raw", {}, small_text.encode()),
        (path, {"Range": "bytes=100-"}, data[100:]),
        (f"/{page}", html, None),
        (path, {}, data),
        (f"/{paste}/raw", {}, small_text.encode()),
        (f"/{page}", html, None),
        (path, {"Range": "bytes=-1000"}, data[-1000:]),
    ]

    def slow_client(port: int) -> list[tuple[int, bytes]]:
        # A plain socket read a little at a time: the server's side of it stays full.
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            sock.settimeout(30)
            sock.connect(("127.0.0.1", port))
            requests = b"".join(
                f"GET {p} HTTP/1.1\r\nHost: refbin.test\r\n".encode()
                + b"".join(f"{k}: {v}\r\n".encode() for k, v in h.items())
                + b"\r\n"
                for p, h, _ in plan
            )
            sock.sendall(requests)
            time.sleep(0.3)  # the server fills the socket and waits on it
            stream = sock.makefile("rb", buffering=8192)
            answers = []
            for _ in plan:
                status = int(stream.readline().split()[1])
                length = None
                while (line := stream.readline()) != b"\r\n":
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                assert length is not None
                body = bytearray()
                while len(body) < length:
                    body += stream.read(min(8192, length - len(body)))
                    time.sleep(0.0002)
                answers.append((status, bytes(body)))
            sock.settimeout(0.2)
            with pytest.raises(TimeoutError):  # nothing more: the stream is exactly these
                stream.read(1)
            return answers

    async with served(uvloop.new_event_loop, real_app(settings)) as port:
        answers = await asyncio.to_thread(slow_client, port)
    for (status, body), (_, headers, expected) in zip(answers, plan, strict=True):
        assert status == (206 if "Range" in headers else 200)
        if expected is None:
            assert body.startswith(b"<!doctype html>") and body.rstrip().endswith(b"</html>")
        else:
            assert body == expected
    assert len(sendfile_spy.outcomes) == 4
    assert all(outcome.startswith("sent ") for outcome in sendfile_spy.outcomes)


async def test_a_client_gone_mid_body_ends_the_transfer_and_the_server_goes_on(
    settings: Settings,
    runtime: Runtime,
    sendfile_spy: SendfileSpy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = os.urandom(24 * MiB)
    content_id = await upload(runtime, data, "big.bin")
    paste = (await runtime.service.add_paste("still here\n")).item.content_id
    caplog.set_level(logging.ERROR)

    async with served(uvloop.new_event_loop, real_app(settings)) as port:
        gone = await Connection.open(port, rcvbuf=8192)
        gone.send("GET", f"/{content_id}/raw")
        await asyncio.wait_for(gone.reader.readuntil(b"\r\n\r\n"), 30)
        await gone.reader.readexactly(64 * 1024)
        gone.reset()
        for _ in range(200):
            if sendfile_spy.outcomes:
                break
            await asyncio.sleep(0.05)
        assert sendfile_spy.outcomes == ["ConnectionResetError"]

        fresh = await Connection.open(port)
        assert (await fresh.get(f"/{paste}/raw"))[2] == b"still here\n"
        assert (await fresh.get(f"/{content_id}/raw", {"Range": "bytes=0-99"}))[2] == data[:100]
        await fresh.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("loop_factory", [uvloop.new_event_loop, asyncio.new_event_loop])
async def test_send_file_waits_for_bytes_still_in_the_transport(
    tmp_path: Path, loop_factory: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    """A megabyte written to the transport (and held in its buffer by a client that does not
    read yet) goes out before the first byte sendfile(2) sends."""
    prefix = os.urandom(MiB)
    data = os.urandom(3 * MiB)
    file = tmp_path / "blob"
    file.write_bytes(data)
    pending: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(prefix) + len(data))})
        writer = await response.prepare(request)
        assert writer is not None and request.transport is not None
        # A fixed, small send buffer (loopback's autotuned one takes megabytes at once).
        sock = request.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        request.transport.write(prefix)
        pending.append(request.transport.get_write_buffer_size())
        with file.open("rb") as handle:
            await zerocopy.send_file(request.transport, handle, 0, len(data), writer.drain)
        await response.write_eof()
        return response

    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[web.Application]:
        app = web.Application()
        app.router.add_get("/", handler)
        yield app

    async with served(loop_factory, make) as port:
        conn = await Connection.open(port, rcvbuf=8192)
        conn.send("GET", "/")
        await asyncio.sleep(0.3)
        first = await conn.response()
        second = await conn.get("/")
        await conn.nothing_more()
        await conn.close()
    assert pending[0] > 0  # the case under test did happen
    assert first[2] == prefix + data
    assert second[2] == prefix + data


@pytest.mark.parametrize("loop_factory", [uvloop.new_event_loop, asyncio.new_event_loop])
async def test_a_transport_closed_under_a_waiting_transfer_ends_it(
    tmp_path: Path, loop_factory: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    """The client reads nothing, so the transfer waits on a full socket; the server closes the
    connection (as on shutdown): the transfer gives up, and our copy of the descriptor is
    closed, so the client sees the connection end instead of waiting forever."""
    file = tmp_path / "blob"
    file.write_bytes(os.urandom(8 * MiB))
    outcomes: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(8 * MiB)})
        writer = await response.prepare(request)
        transport = request.transport
        assert writer is not None and transport is not None
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        asyncio.get_running_loop().call_later(0.3, transport.close)
        started = asyncio.get_running_loop().time()
        try:
            with file.open("rb") as handle:
                await zerocopy.send_file(transport, handle, 0, 8 * MiB, writer.drain)
        except ConnectionResetError:
            waited = asyncio.get_running_loop().time() - started
            outcomes.append(f"reset after {waited:.0f} s")
            raise
        outcomes.append("sent")
        return response

    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[web.Application]:
        app = web.Application()
        app.router.add_get("/", handler)
        yield app

    def read_to_the_end(sock: socket.socket) -> bytes:
        received = bytearray()
        while chunk := sock.recv(1 << 16):
            received += chunk
        return bytes(received)

    async with served(loop_factory, make) as port:
        # A plain socket, not asyncio's streams (which read into memory on their own).
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: refbin.test\r\n\r\n")
            await asyncio.sleep(1.8)  # past the transfer's first look at its connection
            received = await asyncio.to_thread(read_to_the_end, sock)  # to EOF, not a timeout
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(received) < MiB
    assert outcomes in (["reset after 1 s"], ["reset after 2 s"])


async def test_tls_connections_are_refused_before_anything_is_sent() -> None:
    class TLSTransport(asyncio.Transport):
        def get_extra_info(self, name, default=None):
            return object() if name == "ssl_object" else default

    with pytest.raises(zerocopy.Unsupported):
        zerocopy.socket_fd(TLSTransport())


# ---- the copy fallback -----------------------------------------------------------------------


async def test_without_any_sendfile_the_bytes_are_copied(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither the loop's sendfile nor sendfile(2) on the socket (as over TLS): read and write."""
    data = os.urandom(MiB + 3)
    content_id = await upload(runtime, data, "copied.bin")

    async def no_loop_sendfile(*args, **kwargs):
        raise NotImplementedError

    def unsupported(transport):
        raise zerocopy.Unsupported("test")

    monkeypatch.setattr(asyncio.get_running_loop(), "sendfile", no_loop_sendfile)
    monkeypatch.setattr(zerocopy, "socket_fd", unsupported)
    whole = await client.get(f"/{content_id}/raw")
    assert await whole.read() == data
    part = await client.get(f"/{content_id}/raw", headers={"Range": "bytes=10-19"})
    assert part.status == 206 and await part.read() == data[10:20]


@pytest.mark.parametrize("path", ["loop sendfile", "sendfile on the socket", "copy"])
async def test_a_file_shorter_than_promised_closes_the_connection(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The headers promised the whole file: a body cut short must end the connection, or the
    client would wait for the rest (or read the next response as the rest)."""
    data = os.urandom(MiB)
    content_id = await upload(runtime, data, "torn.bin")
    blob = runtime.store.local_path(hashlib.sha256(data).hexdigest())
    assert blob is not None
    real_size = raw._file_size

    async def claimed_size(path, sha256):  # the stat saw the whole file; then it was torn
        size = await real_size(path, sha256)
        blob.write_bytes(data[: MiB // 2])
        return size

    async def no_loop_sendfile(*args, **kwargs):
        raise NotImplementedError

    def unsupported(transport):
        raise zerocopy.Unsupported("test")

    monkeypatch.setattr(raw, "_file_size", claimed_size)
    if path != "loop sendfile":
        monkeypatch.setattr(asyncio.get_running_loop(), "sendfile", no_loop_sendfile)
    if path == "copy":
        monkeypatch.setattr(zerocopy, "socket_fd", unsupported)
    with pytest.raises(aiohttp.ClientPayloadError):
        response = await client.get(f"/{content_id}/raw", timeout=aiohttp.ClientTimeout(total=20))
        await response.read()


# ---- small blobs from memory -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def empty_small_blobs() -> None:
    raw.SMALL_BLOBS.clear()


async def test_small_blobs_are_read_once_then_served_from_memory(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "def hello():\n    return 'ünïcode'\n" * 200  # about 7 KB
    created = await runtime.service.add_paste(text, filename="hello.py")
    reads: list[Path] = []
    real_read = raw._read_if_small

    def counted(path, sha256):
        reads.append(path)
        return real_read(path, sha256)

    monkeypatch.setattr(raw, "_read_if_small", counted)
    path = f"/{created.item.content_id}/raw"
    answers = [await client.get(path) for _ in range(3)]
    for response in answers:
        assert response.status == 200
        assert await response.text() == text
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert response.headers["ETag"] == f'"{created.item.sha256}"'
        assert response.headers["Content-Length"] == str(len(text.encode()))
        assert response.headers["Content-Disposition"].startswith("inline;")
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Accept-Ranges"] == "bytes"
    assert len(reads) == 1
    assert raw.SMALL_BLOBS.get(created.item.sha256) == text.encode()

    encoded = text.encode()
    part = await client.get(path, headers={"Range": "bytes=5-24"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 5-24/{len(encoded)}"
    assert await part.read() == encoded[5:25]
    head = await client.head(path)
    assert head.status == 200 and await head.read() == b""
    assert head.headers["Content-Length"] == str(len(encoded))
    bad = await client.get(path, headers={"Range": f"bytes={len(encoded)}-"})
    assert bad.status == 416 and bad.headers["Content-Range"] == f"bytes */{len(encoded)}"
    cached = await client.get(path, headers={"If-None-Match": f'"{created.item.sha256}"'})
    assert cached.status == 304
    assert len(reads) == 1


async def test_a_deleted_item_is_not_served_from_memory(
    client: TestClient, runtime: Runtime
) -> None:
    created = await runtime.service.add_paste("delete me\n")
    path = f"/{created.item.content_id}/raw"
    assert await (await client.get(path)).text() == "delete me\n"
    assert raw.SMALL_BLOBS.get(created.item.sha256) is not None
    await runtime.service.delete(created.item.content_id, delete_token=created.delete_token)
    gone = await client.get(path)
    assert gone.status in (404, 410)
    assert "delete me" not in await gone.text()


async def test_a_damaged_small_blob_is_not_kept(client: TestClient, runtime: Runtime) -> None:
    data = b"precious bytes " * 100
    content_id = await upload(runtime, data, "p.txt")
    sha = hashlib.sha256(data).hexdigest()
    blob = runtime.store.local_path(sha)
    assert blob is not None
    blob.write_bytes(b"bit rot")
    assert await (await client.get(f"/{content_id}/raw")).read() == b"bit rot"
    assert raw.SMALL_BLOBS.get(sha) is None
    await runtime.service.add_upload(chunks_of(data))  # a re-upload repairs it
    assert await (await client.get(f"/{content_id}/raw")).read() == data
    assert raw.SMALL_BLOBS.get(sha) == data


async def test_blobs_over_the_limit_are_not_kept(client: TestClient, runtime: Runtime) -> None:
    data = os.urandom(raw.SMALL_BLOB_LIMIT + 1)
    content_id = await upload(runtime, data, "edge.bin")
    assert await (await client.get(f"/{content_id}/raw")).read() == data
    assert len(raw.SMALL_BLOBS) == 0


async def test_thumbnails_are_kept_too(client: TestClient, runtime: Runtime) -> None:
    created = await runtime.service.add_upload(chunks_of(png_bytes(1000, 800)), filename="t.png")
    thumb = created.item.thumb_sha256
    assert thumb is not None
    first = await client.get(f"/{created.item.content_id}/thumb")
    assert first.status == 200
    body = await first.read()
    assert body[:4] == b"RIFF"
    assert raw.SMALL_BLOBS.get(thumb) == body


def test_the_lru_keeps_its_budget_and_drops_the_least_recent() -> None:
    blobs = raw.SmallBlobs(budget=300, limit=100)
    for name in "abc":
        blobs.put(name, name.encode() * 100)
    assert blobs.get("a") is not None  # now the most recent
    blobs.put("d", b"d" * 100)
    assert blobs.get("b") is None
    assert {name for name in "acd" if blobs.get(name)} == set("acd")
    assert blobs.size == 300
    blobs.put("e", b"e" * 101)  # over the entry limit
    assert blobs.get("e") is None
    blobs.offer("f", b"not what f hashes to")
    assert blobs.get("f") is None
    good = b"good"
    blobs.offer(hashlib.sha256(good).hexdigest(), good)
    assert blobs.get(hashlib.sha256(good).hexdigest()) == good
