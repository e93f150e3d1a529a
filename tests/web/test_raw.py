"""GET /{id}/raw: ETag, conditional requests, byte ranges, HEAD, caching rules, dispositions,
the separate content origin, and blobs in S3 (streamed or redirected to)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import uuid
from datetime import timedelta
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import StorageSettings
from bot.models import ItemOptions
from bot.runtime import Runtime, open_runtime
from bot.web import create_app
from bot.web.headers import content_disposition
from bot.web.keys import SERVICE_KEY
from bot.web.raw import serve_thumb
from tests.helpers import chunks_of, png_bytes
from tests.storage_fixtures import s3_server_fixture  # noqa: F401 - `s3_server`

MiB = 1024 * 1024
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"


async def upload(runtime: Runtime, data: bytes, filename: str | None = None, **options) -> str:
    created = await runtime.service.add_upload(
        chunks_of(data), filename=filename, options=ItemOptions(**options)
    )
    return created.item.content_id


@pytest.fixture
async def blob(runtime: Runtime) -> tuple[str, bytes]:
    """A 3 MiB random file, with its id."""
    data = os.urandom(3 * MiB)
    return await upload(runtime, data, "data.bin"), data


# ---- ETag and conditionals -------------------------------------------------------------------


async def test_etag_is_the_sha256_of_the_bytes(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.get(f"/{content_id}/raw")
    assert response.status == 200
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == len(data)
    assert await response.read() == data


async def test_if_none_match_answers_304_without_a_body(client: TestClient, blob) -> None:
    content_id, data = blob
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(f"/{content_id}/raw", headers={"If-None-Match": header})
        assert response.status == 304, header
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert await response.read() == b""


async def test_if_none_match_with_another_etag_gets_the_body(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.get(f"/{content_id}/raw", headers={"If-None-Match": '"stale"'})
    assert response.status == 200
    assert await response.read() == data


async def test_a_304_still_counts_as_a_visit(client: TestClient, runtime: Runtime, blob) -> None:
    content_id, data = blob
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    await client.get(f"/{content_id}/raw", headers={"If-None-Match": etag})
    await runtime.service.counter.flush(runtime.db.pool)
    assert (
        await runtime.db.pool.fetchval("SELECT views FROM refs WHERE content_id = $1", content_id)
        == 1
    )


async def test_head_sends_the_headers_without_the_body(client: TestClient, blob) -> None:
    content_id, data = blob
    head = await client.head(f"/{content_id}/raw")
    get = await client.get(f"/{content_id}/raw")
    assert head.status == 200
    assert await head.read() == b""
    assert int(head.headers["Content-Length"]) == len(data)
    for name in ("ETag", "Content-Type", "Cache-Control", "Content-Disposition", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


# ---- ranges ----------------------------------------------------------------------------------


async def test_a_one_mib_range_is_sent_exactly(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.get(
        f"/{content_id}/raw", headers={"Range": f"bytes={MiB}-{2 * MiB - 1}"}
    )
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {MiB}-{2 * MiB - 1}/{len(data)}"
    assert int(response.headers["Content-Length"]) == MiB
    body = await response.read()
    assert len(body) == MiB
    assert body == data[MiB : 2 * MiB]
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'


SINGLE_RANGES = [
    ("bytes=-500", -500, None),  # a suffix
    ("bytes=100-", 100, None),  # open-ended
    ("bytes=0-0", 0, 1),
    ("bytes=10-19", 10, 20),
    ("bytes=-999999999", 0, None),  # a suffix longer than the body: all of it
    ("bytes=3145000-99999999", 3145000, None),  # an end past the body: up to the end
    ("BYTES= 5-9 ", 5, 10),
]
BAD_RANGES = [
    "bytes=abc",
    "bytes=5-2",
    "bytes=-0",
    "bytes=3145728-",
    "bytes=9" * 3,
    "bytes",
    "bytes=-",
]


async def test_single_ranges_are_206_with_their_bytes(client: TestClient, blob) -> None:
    content_id, data = blob
    size = len(data)
    for header, start, end in SINGLE_RANGES:
        expected = data[start:end]
        first = max(0, size + start) if start < 0 else start
        response = await client.get(f"/{content_id}/raw", headers={"Range": header})
        assert response.status == 206, header
        assert response.headers["Content-Range"] == (
            f"bytes {first}-{first + len(expected) - 1}/{size}"
        ), header
        assert await response.read() == expected, header


async def test_unsatisfiable_or_malformed_ranges_are_416(client: TestClient, blob) -> None:
    content_id, data = blob
    for header in BAD_RANGES:
        response = await client.get(f"/{content_id}/raw", headers={"Range": header})
        assert response.status == 416, header
        assert response.headers["Content-Range"] == f"bytes */{len(data)}", header
        assert await response.read() == b""


async def test_several_ranges_get_the_whole_body(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.get(f"/{content_id}/raw", headers={"Range": "bytes=0-1,5-6"})
    assert response.status == 200
    assert "Content-Range" not in response.headers
    assert await response.read() == data


async def test_a_range_of_another_unit_is_ignored(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.get(f"/{content_id}/raw", headers={"Range": "items=0-1"})
    assert response.status == 200
    assert await response.read() == data


async def test_if_range_honours_the_range_only_for_our_etag(client: TestClient, blob) -> None:
    content_id, data = blob
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    fresh = await client.get(f"/{content_id}/raw", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status == 206
    assert await fresh.read() == data[:10]
    stale = await client.get(
        f"/{content_id}/raw", headers={"Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert stale.status == 200
    assert await stale.read() == data


async def test_head_with_a_range(client: TestClient, blob) -> None:
    content_id, data = blob
    response = await client.head(f"/{content_id}/raw", headers={"Range": "bytes=-500"})
    assert response.status == 206
    assert response.headers["Content-Length"] == "500"
    assert (
        response.headers["Content-Range"] == f"bytes {len(data) - 500}-{len(data) - 1}/{len(data)}"
    )
    assert await response.read() == b""


# ---- caching ---------------------------------------------------------------------------------


async def test_items_that_cannot_change_are_cached_for_a_year(
    client: TestClient, runtime: Runtime
) -> None:
    for visibility in ("public", "unlisted"):
        content_id = await upload(runtime, png_bytes(), "a.png", visibility=visibility)
        response = await client.get(f"/{content_id}/raw")
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_items_that_can_change_or_are_private_are_not_stored(
    client: TestClient, runtime: Runtime
) -> None:
    cases = [
        {"expires_in": timedelta(hours=1)},
        {"max_views": 5},
        {"visibility": "private"},
        {"password": "hunter2"},
    ]
    for number, options in enumerate(cases):
        content_id = await upload(runtime, png_bytes(color=(number, 0, 0)), "a.png", **options)
        response = await client.get(f"/{content_id}/raw", headers={"X-Password": "hunter2"})
        assert response.status == 200, options
        assert response.headers["Cache-Control"] == "private, no-store", options


# ---- what the bytes are served as ------------------------------------------------------------


async def test_svg_and_html_are_never_inline(client: TestClient, runtime: Runtime) -> None:
    for payload, media_type in ((SVG, "image/svg+xml"), (HTML, "text/html")):
        content_id = await upload(runtime, payload, "pretty.png")
        for path in (f"/{content_id}/raw", f"/{content_id}/raw?download=0", f"/{content_id}"):
            response = await client.get(path)
            assert response.status == 200
            assert response.headers["Content-Type"] == media_type
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
            assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_images_are_inline_unless_download_is_asked(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await upload(runtime, png_bytes(), "cat.png")
    inline = await client.get(f"/{content_id}/raw")
    assert inline.headers["Content-Type"] == "image/png"
    assert inline.headers["Content-Disposition"].startswith("inline;")
    download = await client.get(f"/{content_id}/raw?download=1")
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png"
    )


async def test_pastes_are_utf8_plain_text(client: TestClient, runtime: Runtime) -> None:
    text = "<html><script>alert(1)</script> — ünïcode\n"
    created = await runtime.service.add_paste(text, filename="page.html")
    response = await client.get(f"/{created.item.content_id}/raw")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert await response.text() == text


async def test_a_link_raw_is_its_target_as_text(client: TestClient, runtime: Runtime) -> None:
    created = await runtime.service.add_link("https://example.com/x")
    response = await client.get(f"/{created.item.content_id}/raw")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert await response.text() == "https://example.com/x\n"


async def test_tricky_filenames_are_encoded_safely(client: TestClient, runtime: Runtime) -> None:
    name = 'naïve "résumé"; x=1 %41 日本.png'
    content_id = await upload(runtime, png_bytes(), name)
    response = await client.get(f"/{content_id}/raw?download=1")
    header = response.headers["Content-Disposition"]
    assert header == (
        'attachment; filename="na_ve _r_sum__; x=1 _41 __.png"; '
        "filename*=UTF-8''na%C3%AFve%20%22r%C3%A9sum%C3%A9%22%3B%20x%3D1%20%2541%20"
        "%E6%97%A5%E6%9C%AC.png"
    )


@pytest.mark.parametrize(
    "name", ['evil"\r\nSet-Cookie: a=b.txt', "a\nb\rc\x00d\x7f.txt", "\u202egnp.exe", "x" * 300]
)
def test_content_disposition_cannot_be_broken_out_of(name: str) -> None:
    header = content_disposition(name, "attachment")
    assert all(" " <= c <= "~" for c in header)  # no CR, LF or other controls: one header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and "\\" not in fallback
    assert header.endswith("filename*=UTF-8''" + quote(name, safe=""))


def test_content_disposition_keeps_the_exact_name_and_an_ascii_fallback() -> None:
    header = content_disposition('naïve "quote"\r\n.txt')

    assert header == (
        'attachment; filename="na_ve _quote___.txt"; '
        "filename*=UTF-8''na%C3%AFve%20%22quote%22%0D%0A.txt"
    )


async def test_a_crlf_name_from_a_client_never_makes_a_header(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await upload(runtime, png_bytes(), "a\r\nX-Injected: yes\r\n.png")
    response = await client.get(f"/{content_id}/raw?download=1")
    assert "X-Injected" not in response.headers
    assert response.headers["Content-Disposition"].count("filename=") == 1


# ---- view counting, embedding, missing bytes ------------------------------------------------


async def test_embed_is_not_counted(client: TestClient, runtime: Runtime, blob) -> None:
    content_id, _ = blob
    for _ in range(3):
        assert (await client.get(f"/{content_id}/raw?embed=1")).status == 200
    assert runtime.service.counter.pending == 0
    assert (await client.get(f"/{content_id}/raw")).status == 200
    assert runtime.service.counter.pending == 1


async def test_a_password_item_needs_its_password(client: TestClient, runtime: Runtime) -> None:
    content_id = await upload(runtime, png_bytes(), "p.png", password="open sesame")
    assert (await client.get(f"/{content_id}/raw")).status == 401
    assert (await client.get(f"/{content_id}/raw", headers={"X-Password": "nope"})).status == 401
    opened = await client.get(f"/{content_id}/raw", headers={"X-Password": "open sesame"})
    assert opened.status == 200
    assert await opened.read() == png_bytes()


async def test_bytes_missing_from_the_store_answer_503(
    client: TestClient, runtime: Runtime, blob
) -> None:
    content_id, data = blob
    runtime.store.local_path(hashlib.sha256(data).hexdigest()).unlink()
    response = await client.get(f"/{content_id}/raw")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "unavailable"


async def test_serve_thumb_serves_the_webp_thumbnail(runtime: Runtime) -> None:
    content_id = await upload(runtime, png_bytes(1000, 800), "big.png")
    item = await runtime.service.get(content_id)

    async def thumb(request: web.Request) -> web.StreamResponse:
        return await serve_thumb(request, request.app[SERVICE_KEY], item)

    app = web.Application()
    app[SERVICE_KEY] = runtime.service
    app.router.add_get("/t", thumb)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/t")
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["ETag"] == f'"{item.thumb_sha256}"'
        assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
        partial = await client.get("/t", headers={"Range": "bytes=0-3"})
        assert partial.status == 206 and await partial.read() == b"RIFF"


# ---- the separate content origin -------------------------------------------------------------


async def test_files_redirect_to_the_content_origin_which_serves_them(
    runtime: Runtime, settings
) -> None:
    content_url = "http://content.refbin.test"
    server = dataclasses.replace(settings.server, content_url=content_url)
    runtime.service.settings = dataclasses.replace(settings, server=server)
    file_id = await upload(runtime, png_bytes(), "c.png")
    paste = await runtime.service.add_paste("plain words\n")
    async with TestClient(TestServer(create_app(runtime.service))) as client:
        main = await client.get(f"/{file_id}/raw?download=1", allow_redirects=False)
        assert main.status == 302
        assert main.headers["Location"] == f"{content_url}/{file_id}/raw?download=1"
        assert runtime.service.counter.pending == 0  # the content origin counts the visit

        served = await client.get(
            f"/{file_id}/raw?download=1", headers={"Host": "content.refbin.test"}
        )
        assert served.status == 200
        assert await served.read() == png_bytes()
        assert runtime.service.counter.pending == 1

        text = await client.get(f"/{paste.item.content_id}/raw", allow_redirects=False)
        assert text.status == 200  # pastes stay on the main origin
        missing = await client.get("/nosuchid/raw", allow_redirects=False)
        assert missing.status == 404


# ---- blobs in S3 -----------------------------------------------------------------------------


@pytest.fixture
async def s3_runtime(settings, request) -> Runtime:
    server = request.getfixturevalue("s3_server")
    storage = StorageSettings(
        backend="s3",
        s3=dataclasses.replace(
            server.settings,
            path_style=True,
            prefix=f"raw-{uuid.uuid4().hex}/",
            redirect_downloads=request.param,
        ),
    )
    async with open_runtime(dataclasses.replace(settings, storage=storage)) as opened:
        yield opened


@pytest.mark.parametrize("s3_runtime", [False], indirect=True)
async def test_s3_blobs_are_streamed_with_ranges(s3_runtime: Runtime) -> None:
    data = os.urandom(MiB + 123)
    content_id = await upload(s3_runtime, data, "s3.bin")
    async with TestClient(TestServer(create_app(s3_runtime.service))) as client:
        whole = await client.get(f"/{content_id}/raw")
        assert whole.status == 200
        assert whole.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        assert await whole.read() == data
        part = await client.get(f"/{content_id}/raw", headers={"Range": "bytes=-1000"})
        assert part.status == 206
        assert await part.read() == data[-1000:]
        head = await client.head(f"/{content_id}/raw")
        assert int(head.headers["Content-Length"]) == len(data)


@pytest.mark.parametrize("s3_runtime", [True], indirect=True)
async def test_s3_downloads_redirect_to_a_presigned_url(s3_runtime: Runtime) -> None:
    data = os.urandom(5000)
    content_id = await upload(s3_runtime, data, "report.bin")
    async with TestClient(TestServer(create_app(s3_runtime.service))) as client:
        inline = await client.get(f"/{content_id}/raw", allow_redirects=False)
        assert inline.status == 200  # inline bytes keep our headers, so they are streamed
        assert await inline.read() == data
        download = await client.get(f"/{content_id}/raw?download=1", allow_redirects=False)
        assert download.status == 302
        location = download.headers["Location"]
        assert "X-Amz-Signature=" in location
    async with aiohttp.ClientSession() as session, session.get(location) as fetched:
        assert fetched.status == 200
        assert await fetched.read() == data
        assert "report.bin" in fetched.headers["Content-Disposition"]


async def test_without_loop_sendfile_the_socket_still_gets_sendfile(
    client: TestClient, blob, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvloop has no loop.sendfile: the file then goes out with sendfile(2) on the socket
    (bot/web/zerocopy.py; tests/web/test_raw_fastpaths.py runs it under uvloop itself)."""
    content_id, data = blob

    calls = []

    async def no_sendfile(*args, **kwargs):
        calls.append(args)
        raise NotImplementedError

    monkeypatch.setattr(asyncio.get_running_loop(), "sendfile", no_sendfile)
    whole = await client.get(f"/{content_id}/raw")
    assert await whole.read() == data
    part = await client.get(f"/{content_id}/raw", headers={"Range": f"bytes={MiB}-{2 * MiB}"})
    assert part.status == 206
    assert await part.read() == data[MiB : 2 * MiB + 1]
    assert len(calls) == 2


async def test_view_limited_bytes_use_a_view_even_for_bots_and_embeds(client, runtime) -> None:
    created = await runtime.service.add_paste(
        "burn after reading", options=ItemOptions(max_views=1)
    )
    content_id = created.item.content_id
    first = await client.get(
        f"/{content_id}/raw?embed=1",
        headers={"User-Agent": "Mozilla/5.0 (compatible; Discordbot/2.0)"},
    )
    assert first.status == 200
    assert await first.text() == "burn after reading"
    for headers in ({"User-Agent": "Discordbot/2.0"}, {}):
        again = await client.get(f"/{content_id}/raw?embed=1", headers=headers)
        assert again.status == 410
