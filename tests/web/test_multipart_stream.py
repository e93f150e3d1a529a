"""The streaming multipart reader (bot.web.bodies) and the staging pipeline (storage.staging):
a file part's bytes arrive exactly, whatever the read blocks and whatever boundary-like bytes
the file holds; malformed and stalled bodies are refused; nothing is left behind on an error.

The reader is checked on its own (fed block by block, as the HTTP parser feeds it), against
aiohttp's own MultipartReader on generated bodies, and over HTTP (the stored bytes and sha256).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import warnings
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
from aiohttp import BodyPartReader, MultipartReader, StreamReader
from aiohttp.streams import EmptyStreamReader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import Invalid, TimedOut
from bot.web.bodies import MALFORMED_BODY, MultipartBody, part_chunks, read_field
from storage import staging
from storage.staging import Stager
from tests.security_fixtures import (  # noqa: F401 - the shared_app fixture
    BOUNDARY,
    MULTIPART,
    READ_TIMEOUT,
    UPLOAD_LIMIT,
    SharedApp,
    multipart,
    part,
    raw_request,
    shared_app_fixture,
)

KiB = 1024
MiB = 1024 * KiB
API = "/api/v1/items"
CURL_BOUNDARY = b"------------------------d74496d66958873e"  # what curl -F sends, 40 bytes
BOUNDARIES = [b"b", CURL_BOUNDARY, b"x" * 70]


class _Protocol:
    """What a StreamReader asks of its protocol: flow control it may pause and resume."""

    _reading_paused = False
    connected = True

    def pause_reading(self, *args: object, **kwargs: object) -> None:
        self._reading_paused = True

    def resume_reading(self, *args: object, **kwargs: object) -> None:
        self._reading_paused = False


def stream_of(blocks: Sequence[bytes], *, eof: bool = True) -> StreamReader:
    """A request stream fed with `blocks` as the HTTP parser would feed them."""
    stream = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())
    for block in blocks:
        if block:
            stream.feed_data(block)
    if eof:
        stream.feed_eof()
    return stream


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    edges = [0, *sorted(min(max(cut, 0), len(data)) for cut in cuts), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def form(boundary: bytes, *parts: tuple[bytes, bytes]) -> bytes:
    """A multipart/form-data body of (disposition parameters, bytes) parts."""
    dash = b"--" + boundary
    out = b"".join(
        dash + b"\r\nContent-Disposition: form-data; " + head + b"\r\n\r\n" + body + b"\r\n"
        for head, body in parts
    )
    return out + dash + b"--\r\n"


async def parse(blocks: Sequence[bytes], boundary: bytes, idle: float = 5) -> list[tuple]:
    """(name, filename, bytes) of every part, as the reader hands them on."""
    body = MultipartBody(stream_of(blocks), boundary)
    parts = []
    while (found := await body.next(idle)) is not None:
        data = b"".join([bytes(chunk) async for chunk in part_chunks(found, idle)])
        parts.append((found.name, found.filename, data))
    return parts


async def parse_with_aiohttp(blocks: Sequence[bytes], boundary: bytes) -> list[tuple] | None:
    """The same with aiohttp's MultipartReader; None where it refuses the body."""
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}
    reader = MultipartReader(headers, stream_of(blocks))
    parts = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while (found := await reader.next()) is not None:
                assert isinstance(found, BodyPartReader)
                data = b""
                while chunk := await found.read_chunk(256 * KiB):
                    data += chunk
                parts.append((found.name, found.filename, data))
    except MALFORMED_BODY:
        return None
    return parts


async def parse_or_none(blocks: Sequence[bytes], boundary: bytes) -> list[tuple] | None:
    try:
        return await parse(blocks, boundary)
    except (Invalid, *MALFORMED_BODY):
        return None


def tricky_files(boundary: bytes) -> dict[str, bytes]:
    """Files whose bytes look like (parts of) a delimiter, CRLF--boundary, without being one."""
    dash = b"--" + boundary
    return {
        "empty": b"",
        "cr": b"\r",
        "lf": b"\n",
        "crlf": b"\r\n",
        "two-crlf": b"\r\n\r\n",
        "ends-crlf-dash": b"data\r\n-",
        "ends-crlf-dashes": b"data\r\n--",
        "ends-with-a-delimiter-but-one-byte": b"data\r\n" + dash[:-1],
        "starts-with-crlf-dashes": b"\r\n--x",
        "dash-boundary-without-crlf": b"a" + dash + b"b" + dash + b"--",
        "dash-boundary-after-lf-only": b"a\n" + dash + b"\n",
        "dash-boundary-after-cr-only": b"a\r" + dash + b"\r",
        "crlf-one-dash": b"a\r\n-" + boundary,
        "crlf-then-a-shorter-boundary": b"a\r\n" + dash[:-1] + b"\r\n",
        "null-bytes": b"\x00" * 300 + b"\r\n\x00--",
    }


# ---- the reader on its own ---------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=["1", "40", "70"])
async def test_a_delimiter_split_at_every_position_across_two_reads(boundary: bytes) -> None:
    payload = os.urandom(3000).replace(b"\r", b"r") + b"\r\n--" + boundary[:-1] + b"\r"
    data = form(boundary, (b'name="file"; filename="a.bin"', payload), (b'name="x"', b"y"))
    end_of_file = data.index(b"\r\n--" + boundary, data.index(payload) + len(payload) - 1)
    for cut in range(end_of_file - len(boundary) - 8, end_of_file + len(boundary) + 8):
        for cuts in ([cut], [cut, cut + 1], [cut - 1, cut + 2, cut + 3]):
            parts = await parse(split(data, cuts), boundary)
            assert parts == [("file", "a.bin", payload), ("x", None, b"y")], cuts


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=["1", "40", "70"])
async def test_boundary_like_bytes_in_a_file_are_kept_exactly(boundary: bytes) -> None:
    for name, payload in tricky_files(boundary).items():
        data = form(boundary, (b'name="file"; filename="t"', payload), (b'name="n"', payload))
        for blocks in ([data], split(data, range(0, len(data), 7)), [bytes([b]) for b in data]):
            parts = await parse(blocks, boundary)
            assert parts == [("file", "t", payload), ("n", None, payload)], name


async def test_a_big_part_is_handed_on_as_views_of_the_stream_not_copies() -> None:
    """The part's bytes are not copied on the way (the point of this reader): each block the
    HTTP parser delivered is handed on as a view of it, even when several wait to be read, all
    but the few bytes that could start a delimiter."""
    payload = os.urandom(512 * KiB)
    head, tail = form(CURL_BOUNDARY, (b'name="file"; filename="f"', payload)).split(payload)
    blocks = [payload[offset : offset + 128 * KiB] for offset in range(0, len(payload), 128 * KiB)]
    stream = stream_of([head], eof=False)
    body = MultipartBody(stream, CURL_BOUNDARY)
    found = await body.next(5)
    for block in blocks:
        stream.feed_data(block)
    stream.feed_data(tail)
    stream.feed_eof()
    chunks = [chunk async for chunk in part_chunks(found, 5)]
    assert b"".join(bytes(chunk) for chunk in chunks) == payload
    views = [chunk.obj for chunk in chunks if isinstance(chunk, memoryview)]
    assert all(any(view is block for view in views) for block in blocks)
    assert sum(len(chunk) for chunk in chunks if not isinstance(chunk, memoryview)) < 1 * KiB
    assert await body.next(5) is None


async def test_crlf_and_lf_only_part_headers_and_padding_after_a_boundary() -> None:
    dash = b"--" + BOUNDARY.encode()
    data = (
        b"a preamble line\r\n"
        + dash
        + b'  \t\r\nContent-Disposition: form-data; name="a"\n\nA\r\n'
        + dash
        + b'\nContent-Disposition: form-data; name="b"\r\n\r\n\r\n\r\n'
        + dash
        + b"--"  # a close delimiter with no CRLF after it, then the end of the body
    )
    assert await parse([data], BOUNDARY.encode()) == [("a", None, b"A"), ("b", None, b"\r\n")]


async def test_a_part_left_unread_is_skipped() -> None:
    data = form(CURL_BOUNDARY, (b'name="file"; filename=""', b"x" * 5000), (b'name="t"', b"kept"))
    body = MultipartBody(stream_of(split(data, [100, 2000])), CURL_BOUNDARY)
    assert (await body.next(5)).filename == ""
    second = await body.next(5)
    assert await read_field(second, "t", 100, 5) == "kept"
    assert await body.next(5) is None


MALFORMED = {
    "ends-inside-a-file": lambda d: d[: d.index(b"PAYLOAD") + 3],
    "ends-inside-the-delimiter": lambda d: d[: d.index(b"PAYLOAD") + 7 + 3],
    "ends-right-after-the-delimiter": lambda d: d[: d.rindex(b"--")],
    "bytes-after-a-delimiter": lambda d: d.replace(b"PAYLOAD\r\n--b\r\n", b"PAYLOAD\r\n--bX\r\n"),
    "no-boundary-at-all": lambda d: b"just some bytes\r\n" * 10,
    "preamble-too-long": lambda d: b"x" * (70 * KiB) + b"\r\n" + d,
    "header-line-too-long": lambda d: d.replace(b'name="n"', b'name="' + b"n" * 9000 + b'"'),
    "header-without-a-colon": lambda d: d.replace(b"Content-Disposition:", b"Content-Disposition"),
    "control-character-in-a-header": lambda d: d.replace(b'name="n"', b'name="\x01"'),
    "nested-multipart": lambda d: d.replace(
        b'filename="f"\r\n', b'filename="f"\r\nContent-Type: multipart/mixed; boundary=c\r\n'
    ),
}


@pytest.mark.parametrize("mangle", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_bodies_are_invalid(mangle) -> None:
    sound = form(b"b", (b'name="n"; filename="f"', b"PAYLOAD"), (b'name="m"', b"M"))
    data = mangle(sound)
    assert data != sound
    for blocks in ([data], split(data, range(0, len(data), 5))):
        with pytest.raises((Invalid, *MALFORMED_BODY)):
            await parse(blocks, b"b")


async def test_an_empty_body_read_again_is_invalid_not_a_busy_loop() -> None:
    """aiohttp serves every empty body from one shared EmptyStreamReader, which answers
    (b"", True) once its end was read: that is the end of the body, not of an HTTP chunk."""

    class Once(EmptyStreamReader):
        calls = 0

        async def readchunk(self) -> tuple[bytes, bool]:
            self.calls += 1
            assert self.calls < 100, "the reader keeps asking an empty body for more"
            return await super().readchunk()

    stream = Once()
    await stream.readchunk()  # an earlier request read the shared reader's end
    with pytest.raises(Invalid, match="ends before"):
        await MultipartBody(stream, b"b").next(1)


async def test_a_stall_inside_a_file_part_times_out() -> None:
    data = form(b"b", (b'name="file"; filename="f"', b"x" * 1000))
    body = MultipartBody(stream_of([data[:500]], eof=False), b"b")
    found = await body.next(0.2)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        async for _ in part_chunks(found, 0.2):
            pass
    assert time.monotonic() - started < 2


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    boundary=st.sampled_from([b"b", b"xyz", CURL_BOUNDARY]),
    pieces=st.lists(
        st.lists(
            st.sampled_from([b"\r", b"\n", b"\r\n", b"-", b"--", b"x", b"\x00", b"DASH", b"B"]),
            max_size=24,
        ),
        max_size=3,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
async def test_generated_bodies_read_as_aiohttp_reads_them(
    boundary: bytes, pieces: list[list[bytes]], cuts: list[int]
) -> None:
    """Bodies made of delimiter fragments, split anywhere: the same parts and the same bytes as
    aiohttp's reader, or refused by both (a part whose bytes hold the delimiter ends there)."""
    files = [b"".join(p).replace(b"DASH", b"--" + boundary).replace(b"B", boundary) for p in pieces]
    data = form(boundary, *((f'name="f{n}"'.encode(), f) for n, f in enumerate(files)))
    blocks = split(data, cuts)
    assert await parse_or_none(blocks, boundary) == await parse_with_aiohttp(blocks, boundary)
    if not any(b"\r\n--" + boundary in b"\r\n" + f + b"\r\n" for f in files):
        assert [p[2] for p in await parse(blocks, boundary)] == files


# ---- staging ---------------------------------------------------------------------------------


async def _stream(chunks: Sequence[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_staging_hashes_and_writes_views_and_small_chunks_exactly(tmp_path) -> None:
    data = os.urandom(3 * staging.MAX_BATCH + 12345)
    view = memoryview(data)
    chunks = []
    offset = 0
    for size in [1, 39, 256 * KiB, 7, staging.MAX_BATCH, 3, 100 * KiB] * 20:
        if offset >= len(data):
            break
        chunks.append(view[offset : offset + size] if size > 64 else data[offset : offset + size])
        offset += size
    chunks.append(view[offset:])
    staged = await Stager(tmp_path).stage(_stream(chunks))
    assert staged.path.read_bytes() == data
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert staged.head == data[: staging.HEAD_SIZE]


async def test_a_stream_that_fails_with_a_batch_in_flight_leaves_nothing(tmp_path) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield os.urandom(staging.MAX_BATCH)
        raise Invalid("the body was cut short")

    fds = _open_fds()
    with pytest.raises(Invalid):
        await Stager(tmp_path).stage(failing())
    assert list(tmp_path.iterdir()) == []
    assert _open_fds() == fds


async def test_a_cancelled_upload_closes_and_removes_its_file_once_the_worker_is_done(
    tmp_path, monkeypatch
) -> None:
    """A cancelled await does not stop the thread writing the batch: the file descriptor must
    not be closed under it, and the file goes once the batch is written."""
    writing, written = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    real = staging._Sink.write

    failures: list[BaseException] = []

    def slow_write(sink: staging._Sink, batch: list) -> None:
        loop.call_soon_threadsafe(writing.set)
        time.sleep(0.3)
        try:
            real(sink, batch)
        except BaseException as exc:  # a descriptor closed under the worker: EBADF
            failures.append(exc)
            raise
        finally:
            loop.call_soon_threadsafe(written.set)

    monkeypatch.setattr(staging._Sink, "write", slow_write)

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * staging.MAX_BATCH

    fds = _open_fds()
    task = asyncio.ensure_future(Stager(tmp_path).stage(endless()))
    await writing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(5):
        await written.wait()
        while list(tmp_path.iterdir()) or _open_fds() != fds:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert failures == []


# ---- over HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", API])
async def test_tricky_files_are_stored_byte_for_byte_under_their_sha256(
    shared_app: SharedApp, path: str
) -> None:
    client = shared_app.client
    files = tricky_files(BOUNDARY.encode())
    files["random-48-kib"] = os.urandom(48 * KiB)
    for name, payload in files.items():
        body = multipart(part(b'name="file"; filename="t.bin"', payload))
        response = await client.post(path, data=body, headers=MULTIPART)
        assert response.status in (200, 201), (name, await response.text())
        content_id = (await response.text()).strip().rsplit("/", 1)[-1]
        if path == API:
            content_id = (await response.json())["id"]
        raw = await client.get(f"/{content_id}/raw")
        assert await raw.read() == payload, name
        sha256 = await shared_app.runtime.db.pool.fetchval(
            "SELECT sha256 FROM files WHERE content_id = $1", content_id
        )
        assert sha256 == hashlib.sha256(payload).hexdigest(), name
    assert shared_app.temp_files() == []


@pytest.mark.parametrize("path", ["/", API])
async def test_the_limit_is_exact_while_streaming(shared_app: SharedApp, path: str) -> None:
    client = shared_app.client
    at_limit = multipart(part(b'name="file"; filename="a"', b"\x01" * UPLOAD_LIMIT))
    response = await client.post(path, data=at_limit, headers=MULTIPART)
    assert response.status in (200, 201), await response.text()
    before = await shared_app.count()
    over = multipart(part(b'name="file"; filename="a"', b"\x02" * (UPLOAD_LIMIT + 1)))
    response = await client.post(path, data=over, headers=MULTIPART)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


def _post(path: str, sent: bytes, length: int) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: refbin.test\r\nContent-Type: {MULTIPART['Content-Type']}"
        f"\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + sent


@pytest.mark.parametrize("path", ["/", API])
@pytest.mark.parametrize("where", ["inside-the-file", "inside-the-closing-delimiter"])
async def test_a_file_that_stalls_is_dropped_with_408_and_leaves_nothing(
    shared_app: SharedApp, path: str, where: str
) -> None:
    body = multipart(part(b'name="file"; filename="slow.bin"', os.urandom(20 * KiB)))
    cut = 10 * KiB if where == "inside-the-file" else len(body) - 10
    before = await shared_app.count()
    started = asyncio.get_running_loop().time()
    answer = await raw_request(shared_app.client, _post(path, body[:cut], len(body)), wait=10)
    assert answer.status == 408, answer.head
    assert asyncio.get_running_loop().time() - started < READ_TIMEOUT + 5
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


async def test_curl_form_with_options_before_and_text_fields(shared_app: SharedApp) -> None:
    form_data = aiohttp.FormData()
    form_data.add_field("visibility", "unlisted")
    form_data.add_field("file", b"\r\n--" + BOUNDARY.encode() + b"x", filename="f.bin")
    response = await shared_app.client.post("/", data=form_data)
    assert response.status == 201, await response.text()
    content_id = (await response.text()).strip().rsplit("/", 1)[-1]
    item = await shared_app.runtime.service.get(content_id)
    assert item.visibility == "unlisted" and item.filename == "f.bin"


async def test_a_second_file_on_the_curl_route_is_refused_and_nothing_is_kept(
    shared_app: SharedApp,
) -> None:
    before = await shared_app.count()
    body = multipart(
        part(b'name="file"; filename="one.bin"', b"first file " + os.urandom(16)),
        part(b'name="file"; filename="two.bin"', b"second file"),
    )
    response = await shared_app.client.post("/", data=body, headers=MULTIPART)
    assert response.status == 400
    assert "one item per request" in (await response.json())["error"]["message"]
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


@pytest.mark.parametrize("path", ["/", API])
async def test_a_file_part_without_a_filename(shared_app: SharedApp, path: str) -> None:
    """Both routes store a file part without a filename as a file with no name, and skip one
    with an empty filename (a browser's file input with no file chosen)."""
    client = shared_app.client
    nameless = multipart(part(b'name="file"', b"no name " + os.urandom(8).hex().encode()))
    response = await client.post(path, data=nameless, headers=MULTIPART)
    assert response.status == 201, await response.text()
    if path == API:
        content_id = (await response.json())["id"]
    else:
        content_id = (await response.text()).strip().rsplit("/", 1)[-1]
    item = await shared_app.runtime.service.get(content_id)
    assert item.kind == "file" and item.filename is None
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    paste = f"a paste to {path}".encode()
    unchosen = multipart(part(b'name="file"; filename=""', b""), part(b'name="text"', paste))
    response = await client.post(path, data=unchosen, headers=MULTIPART)
    assert response.status == 201, await response.text()
