"""Hostile input over real HTTP: every case answers a specific status and error, never a 500,
and leaves nothing behind (no item, no temporary file).

Oversized and malformed bodies, stalled bodies (the slow-loris upload itself is
tests/web/test_upload_memory.py::test_a_stalled_upload_times_out_and_leaves_nothing), filenames
that try to escape or deceive, bytes that lie about their type, links that are not what they
look like, aliases that would shadow routes, and request headers that are stored or shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
import pytest
from markupsafe import escape
from PIL import Image

from bot.service.tokens import new_token
from tests.helpers import png_bytes
from tests.security_fixtures import (  # noqa: F401 - the shared_app fixture
    MULTIPART,
    PASTE_LIMIT,
    READ_TIMEOUT,
    UPLOAD_LIMIT,
    SharedApp,
    http_get,
    multipart,
    part,
    raw_request,
    shared_app_fixture,
)

KiB = 1024
HTML = {"Accept": "text/html"}
API = "/api/v1/items"


def error_of(body: bytes) -> dict[str, str]:
    return json.loads(body)["error"]


async def expect_error(
    response: aiohttp.ClientResponse, status: int, code: str, message: str
) -> None:
    body = await response.read()
    assert response.status == status, body[:300]
    error = error_of(body)
    assert error["code"] == code, error
    assert message in error["message"], error


@pytest.fixture
async def nothing_left(shared_app: SharedApp) -> AsyncIterator[SharedApp]:
    """The test's requests must neither add an item nor leave a staged file behind."""
    before = await shared_app.count()
    yield shared_app
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


# ---- bodies over the limits --------------------------------------------------------------------


async def _chunked(total: int, chunk: int = 16 * KiB) -> AsyncIterator[bytes]:
    for offset in range(0, total, chunk):
        yield b"\xab" * min(chunk, total - offset)


def _chunked_file(total: int) -> aiohttp.MultipartWriter:
    """A file part of unknown length: the body goes out chunked, with no Content-Length."""
    writer = aiohttp.MultipartWriter("form-data")
    file_part = writer.append(_chunked(total), {"Content-Type": "application/octet-stream"})
    file_part.set_content_disposition("form-data", name="file", filename="big.bin")
    return writer


@dataclass(frozen=True)
class Oversized:
    path: str
    body: bytes | None  # None: a file part streamed chunked, with no length declared
    content_type: str | None
    message: str


UPLOAD_TOO_LARGE = f"The upload is larger than the limit of {UPLOAD_LIMIT:,} bytes."
PASTE_TOO_LARGE = f"The paste is larger than {PASTE_LIMIT:,} bytes."
BIG_FILE = multipart(part(b'name="file"; filename="big.bin"', b"\xab" * (UPLOAD_LIMIT + 200 * KiB)))
BIG_TEXT_PART = multipart(part(b'name="text"', b"a" * (PASTE_LIMIT + 1)))
BIG_TEXT_FORM = b"text=" + b"a" * (PASTE_LIMIT + 1)
OVERSIZED = {
    "upload-by-content-length-curl": Oversized(
        "/", BIG_FILE, MULTIPART["Content-Type"], UPLOAD_TOO_LARGE
    ),
    "upload-by-content-length-api": Oversized(
        API, BIG_FILE, MULTIPART["Content-Type"], UPLOAD_TOO_LARGE
    ),
    "upload-chunked-curl": Oversized("/", None, None, UPLOAD_TOO_LARGE),
    "upload-chunked-api": Oversized(API, None, None, UPLOAD_TOO_LARGE),
    "text-part-curl": Oversized("/", BIG_TEXT_PART, MULTIPART["Content-Type"], PASTE_TOO_LARGE),
    "text-part-api": Oversized(API, BIG_TEXT_PART, MULTIPART["Content-Type"], PASTE_TOO_LARGE),
    "text-form-curl": Oversized(
        "/", BIG_TEXT_FORM, "application/x-www-form-urlencoded", PASTE_TOO_LARGE
    ),
    "text-form-api": Oversized(
        API, BIG_TEXT_FORM, "application/x-www-form-urlencoded", PASTE_TOO_LARGE
    ),
    "form-past-the-body-limit-curl": Oversized(
        "/",
        b"text=" + b"a" * (PASTE_LIMIT + 100 * KiB),
        "application/x-www-form-urlencoded",
        PASTE_TOO_LARGE,
    ),
    "form-past-the-body-limit-api": Oversized(
        API,
        b"text=" + b"a" * (PASTE_LIMIT + 100 * KiB),
        "application/x-www-form-urlencoded",
        PASTE_TOO_LARGE,
    ),
    "json-text-api": Oversized(
        API,
        json.dumps({"text": "a" * (PASTE_LIMIT + 1)}).encode(),
        "application/json",
        PASTE_TOO_LARGE,
    ),
    "json-past-the-body-limit-api": Oversized(
        API,
        json.dumps({"text": "\u00e9" * (6 * PASTE_LIMIT)}, ensure_ascii=False).encode(),
        "application/json",
        PASTE_TOO_LARGE,
    ),
}


@pytest.mark.parametrize("case", OVERSIZED.values(), ids=OVERSIZED.keys())
async def test_bodies_over_the_limits_are_413_and_leave_nothing(
    nothing_left: SharedApp, case: Oversized
) -> None:
    client = nothing_left.client
    if case.body is None:
        response = await client.post(case.path, data=_chunked_file(UPLOAD_LIMIT + 64 * KiB))
        assert "Content-Length" not in response.request_info.headers
    else:
        headers = {"Content-Type": case.content_type} if case.content_type else {}
        response = await client.post(case.path, data=case.body, headers=headers)
    await expect_error(response, 413, "too_large", case.message)
    assert (await client.get("/healthz")).status == 200


async def test_option_fields_are_bounded_in_size_and_number(nothing_left: SharedApp) -> None:
    client = nothing_left.client
    long_field = multipart(part(b'name="alias"', b"a" * 5000), part(b'name="url"', b"https://e.x/"))
    for path in ("/", API):
        response = await client.post(path, data=long_field, headers=MULTIPART)
        await expect_error(response, 400, "invalid", "The field 'alias' is too long.")
    # Only the fields the reader knows are kept (one value each): their number is bounded too.
    many = multipart(*(part(f'name="f{n}"'.encode(), b"x" * 100) for n in range(33)))
    for path in ("/", API):
        response = await client.post(path, data=many, headers=MULTIPART)
        await expect_error(response, 400, "invalid", "Unknown field 'f0'.")


# ---- bodies that are not what they say ---------------------------------------------------------

TEXT = part(b'name="text"', b"hello")
MALFORMED = {
    "no-boundary": ("multipart/form-data", multipart(TEXT)),
    "boundary-too-long": ("multipart/form-data; boundary=" + "b" * 100, multipart(TEXT)),
    "another-boundary": ("multipart/form-data; boundary=other", multipart(TEXT)),
    "garbage": (MULTIPART["Content-Type"], b"\x00\x01\x02 not multipart at all"),
    "empty": (MULTIPART["Content-Type"], b""),
    "cut-short": (MULTIPART["Content-Type"], multipart(TEXT)[:-30]),
    "headers-only": (MULTIPART["Content-Type"], multipart(TEXT).split(b"\r\n\r\n")[0]),
    "nul-in-part-header": (
        MULTIPART["Content-Type"],
        multipart(part(b'name="file"; filename="a\x00b.txt"', b"x")),
    ),
    "control-in-part-header": (
        MULTIPART["Content-Type"],
        multipart(part(b'name="file"; filename="a\x1bb.txt"', b"x")),
    ),
    "nested": (
        MULTIPART["Content-Type"],
        multipart(b"Content-Type: multipart/mixed; boundary=inner\r\n\r\n--inner--"),
    ),
    "unknown-charset": ("application/x-www-form-urlencoded; charset=no-such", b"text=hi"),
}


@pytest.mark.parametrize("path", ["/", API])
@pytest.mark.parametrize(("content_type", "body"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_bodies_are_400_not_500(
    nothing_left: SharedApp, path: str, content_type: str, body: bytes
) -> None:
    response = await nothing_left.client.post(
        path, data=body, headers={"Content-Type": content_type}
    )
    raw = await response.read()
    assert response.status == 400, raw[:300]
    error = error_of(raw)
    assert error["code"] == "invalid"
    assert re.search(r"malformed|Nested", error["message"]), error


JSON_REFUSALS = {
    "nested-too-deeply": (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    "lone-surrogate-url": (b'{"url": "https://example.com/\\ud800"}', "url is not valid Unicode"),
    "lone-surrogate-filename": (b'{"text": "x", "filename": "\\udcff"}', "filename is not valid"),
    "lone-surrogate-password": (b'{"text": "x", "password": "\\ud800"}', "password is not valid"),
    "lone-surrogate-text": (b'{"text": "x\\udfff"}', "text is not valid Unicode"),
    "not-an-object": (b'["text"]', "The body is a JSON object"),
    "number-too-long": (b'{"text": "x", "max_views": ' + b"9" * 5000 + b"}", "not valid JSON"),
    "number-not-whole": (b'{"text": "x", "max_views": 1e400}', "whole number"),
    "unknown-field": (b'{"text": "x", "owner_id": 1}', "Unknown field 'owner_id'."),
    "null-for-a-string": (b'{"text": "x", "language": null}', "language is a string."),
}


@pytest.mark.parametrize(("body", "message"), JSON_REFUSALS.values(), ids=JSON_REFUSALS.keys())
async def test_json_that_no_database_would_take_is_400(
    nothing_left: SharedApp, body: bytes, message: str
) -> None:
    response = await nothing_left.client.post(
        API, data=body, headers={"Content-Type": "application/json"}
    )
    await expect_error(response, 400, "invalid", message)


QUERIES = {
    "limit-too-large": ("?limit=1000", "limit is a whole number from 1 to 100."),
    "limit-zero": ("?limit=0", "limit is a whole number from 1 to 100."),
    "limit-empty": ("?limit=", "limit is a whole number."),
    "limit-huge-number": ("?limit=" + "9" * 5000, "limit is a whole number."),
    "kind-empty": ("?kind=", "Kind is one of"),
    "kind-unknown": ("?kind=<script>", "Kind is one of"),
    "cursor-garbage": ("?cursor=1.2.'%20OR%201=1--", "The page cursor is not valid."),
    "days-too-many": ("/stats?days=367", "days is a whole number from 1 to 366."),
    "days-negative": ("/stats?days=-1", "days is a whole number from 1 to 366."),
}


@pytest.mark.parametrize(("query", "message"), QUERIES.values(), ids=QUERIES.keys())
async def test_query_parameters_outside_the_document_are_400(
    shared_app: SharedApp, query: str, message: str
) -> None:
    client, service = shared_app.client, shared_app.runtime.service
    querier = f"querier {hashlib.sha256(query.encode()).hexdigest()[:12]}"  # one live name each
    owner = {"Authorization": f"Bearer {await service.create_api_token(querier)}"}
    path = API
    if query.startswith("/stats"):
        created = await client.post(API, json={"url": "https://example.com/q"}, headers=owner)
        path = f"{API}/{(await created.json())['id']}"
    response = await client.get(path + query, headers=owner)
    await expect_error(response, 400, "invalid", message)


# ---- bodies that stop arriving -----------------------------------------------------------------


def _stalled_post(path: str, content_type: str, sent: bytes) -> bytes:
    """A POST that promises 5,000 bytes (under every limit) and sends only `sent`."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: refbin.test\r\nContent-Type: {content_type}\r\n"
        "Content-Length: 5000\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + sent


@pytest.mark.parametrize(
    ("path", "content_type", "sent"),
    [
        ("/", MULTIPART["Content-Type"], b""),
        (API, MULTIPART["Content-Type"], b""),
        (API, MULTIPART["Content-Type"], b"--" + MULTIPART["Content-Type"][30:].encode()),
        ("/", "application/x-www-form-urlencoded", b"text=a"),
        (API, "application/json", b'{"text": "a'),
        ("/{locked}/unlock", "application/x-www-form-urlencoded", b"password=a"),
    ],
    ids=["before-the-first-part", "api-before-the-first-part", "inside-a-boundary", "form", "json",
         "unlock-form"],
)  # fmt: skip
async def test_bodies_that_stall_anywhere_are_dropped_with_408(
    shared_app: SharedApp, path: str, content_type: str, sent: bytes
) -> None:
    client = shared_app.client
    if "{locked}" in path:
        response = await client.post(API, json={"text": "locked", "password": "pw"})
        path = path.format(locked=(await response.json())["id"])
    before = await shared_app.count()
    started = asyncio.get_running_loop().time()
    answer = await raw_request(client, _stalled_post(path, content_type, sent), wait=10)
    assert answer.status == 408, answer.head
    assert error_of(answer.body)["code"] == "timeout"
    assert asyncio.get_running_loop().time() - started < READ_TIMEOUT + 5
    assert b"Set-Cookie" not in answer.head
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


# ---- filenames ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    disposition: bytes  # the filename parameter(s) exactly as sent
    shown: str | None  # the name refbin keeps and shows (None: no name)


def _star(name: str) -> bytes:
    """RFC 5987 `filename*=`: how a client sends bytes a quoted string cannot carry."""
    return b"filename*=UTF-8''" + quote(name, safe="").encode()


LONG_STEM = "n" * 996
NAMES = {
    "dot-dot-slash": Name(b'filename="../../../../etc/passwd"', "passwd"),
    "absolute-path": Name(b'filename="/etc/shadow"', "shadow"),
    "backslashes": Name(_star("..\\..\\windows\\system32\\evil.dll"), "evil.dll"),
    "windows-path": Name(_star("C:\\Users\\victim\\report.pdf"), "report.pdf"),
    "nul": Name(_star("innocent.txt\x00.exe"), "innocent.txt.exe"),
    "controls": Name(_star("\x1b[31mred\x07\x7f.txt"), "[31mred.txt"),
    "crlf": Name(_star('a"\r\nSet-Cookie: x=1.txt'), 'a"Set-Cookie: x=1.txt'),
    "bidi-override": Name('filename="invoice\u202egpj.exe"'.encode(), "invoicegpj.exe"),
    "zero-width": Name(_star("pay\u200bpal\u2066.txt"), "paypal.txt"),
    "not-utf8": Name(b'filename="caf\xe9.txt"', "caf.txt"),
    "thousand-chars": Name(f'filename="{LONG_STEM}.txt"'.encode(), "n" * 251 + ".txt"),
    "markup": Name(
        b'filename="<img src=x onerror=alert(1)>.txt"', "<img src=x onerror=alert(1)>.txt"
    ),
    "template-syntax": Name(b'filename="{{7*7}}{% raw %}.txt"', "{{7*7}}{% raw %}.txt"),
    "hidden-dotfile": Name(b'filename=".htaccess"', "htaccess"),
    "only-dots-and-slashes": Name(b'filename="../.."', None),
}


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
async def test_hostile_filenames_are_cleaned_stored_under_the_sha256_and_escaped(
    shared_app: SharedApp, name: Name
) -> None:
    client = shared_app.client
    data = b"PK\x03\x04 some archive bytes " + name.disposition
    body = multipart(part(b'name="file"; ' + name.disposition, data))
    response = await client.post(API, data=body, headers=MULTIPART)
    assert response.status == 201, await response.text()
    created = await response.json()
    content_id, sha256 = created["id"], created["sha256"]

    # Stored under a key the server made: the sha256 of the bytes, in the store's own folders.
    assert sha256 == hashlib.sha256(data).hexdigest()
    blob_root = shared_app.settings.blob_path
    assert (blob_root / sha256[:2] / sha256[2:4] / sha256).read_bytes() == data
    stored = [p for p in shared_app.settings.data_dir.rglob("*") if p.is_file()]
    assert all(re.fullmatch(r"[0-9a-f]{64}", p.name) for p in stored), stored

    # The API shows the cleaned name as data.
    item = await (await client.get(f"{API}/{content_id}")).json()
    assert item["filename"] == created["filename"] == name.shown

    # The file page shows it escaped, never as markup.
    page = await client.get(f"/{content_id}", headers=HTML)
    html = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    title = name.shown if name.shown is not None else f"File {content_id}"
    assert f'<h1 class="item-title">{escape(title)}</h1>' in html
    assert "<img src=x" not in html and ">49<" not in html

    # Content-Disposition: one header, printable ASCII, the exact name percent-encoded.
    download = await client.get(f"/{content_id}/raw?download=1")
    header = download.headers["Content-Disposition"]
    assert all(" " <= c <= "~" for c in header), header
    assert len(download.headers.getall("Content-Disposition")) == 1
    assert "Set-Cookie" not in download.headers
    if name.shown is None:
        assert header == "attachment"
    else:
        fallback = header.split('filename="', 1)[1].split('"', 1)[0]
        assert '"' not in fallback and "\\" not in fallback
        assert header.endswith("; filename*=UTF-8''" + quote(name.shown, safe=""))


# ---- types: the bytes decide -------------------------------------------------------------------

PNG = png_bytes(16, 16)
PAGE = b"<!doctype html><html><script>alert(document.domain)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
TYPES = {
    # bytes, name, declared type -> served type, disposition, kind
    "png-named-html": (PNG, "x.html", "text/html", "image/png", "inline", "image"),
    "html-named-png": (PAGE, "x.png", "image/png", "text/html", "attachment", "file"),
    "svg-named-jpeg": (SVG, "x.jpg", "image/jpeg", "image/svg+xml", "attachment", "file"),
    "script-named-png": (
        b"document.title = 'pwned';\n",
        "x.png",
        "image/png",
        "text/plain; charset=utf-8",
        "inline",
        "file",
    ),
    "exe-named-txt": (
        b"MZ\x90\x00" + b"\x00" * 60,
        "notes.txt",
        "text/plain",
        "application/x-msdownload",
        "inline",
        "file",
    ),
}


@pytest.mark.parametrize(
    ("data", "filename", "declared", "served", "disposition", "kind"),
    TYPES.values(),
    ids=TYPES.keys(),
)
async def test_the_bytes_decide_the_type_not_the_name_or_the_header(
    shared_app: SharedApp,
    data: bytes,
    filename: str,
    declared: str,
    served: str,
    disposition: str,
    kind: str,
) -> None:
    client = shared_app.client
    body = multipart(
        part(f'name="file"; filename="{filename}"'.encode(), data, content_type=declared.encode())
    )
    response = await client.post(API, data=body, headers=MULTIPART)
    created = await response.json()
    assert response.status == 201, created
    assert (created["kind"], created["media_type"]) == (kind, served)
    raw = await client.get(f"/{created['id']}/raw")
    assert raw.headers["Content-Type"] == served
    assert raw.headers["Content-Disposition"].split(";")[0] == disposition
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert raw.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert await raw.read() == data


# ---- images that attack the decoder -----------------------------------------------------------


def _bomb() -> bytes:
    """60 megapixels that compress to a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, "PNG")
    return out.getvalue()


def _many_frames() -> bytes:
    frames = [Image.new("L", (1, 1), (n * 37) % 256) for n in range(1001)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    return out.getvalue()


def _giant_canvas() -> bytes:
    """A tiny GIF whose header claims a 65535 x 65535 canvas."""
    out = io.BytesIO()
    Image.new("P", (2, 2)).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = b"\xff\xff\xff\xff"
    return bytes(data)


HOSTILE_IMAGES = {
    "decompression-bomb": (_bomb, "decompression bomb"),
    "giant-canvas": (_giant_canvas, "decompression bomb"),
    "1001-frames": (_many_frames, "more than 1000 frames"),
    "truncated": (lambda: PNG_300[: len(PNG_300) // 2], "damaged or truncated"),
    "magic-then-garbage": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image"),
    "jpeg-header-only": (lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image"),
}
PNG_300 = png_bytes(300, 300)


@pytest.mark.parametrize(("make", "message"), HOSTILE_IMAGES.values(), ids=HOSTILE_IMAGES.keys())
async def test_hostile_images_are_422_and_leave_nothing(
    nothing_left: SharedApp, make: Callable[[], bytes], message: str
) -> None:
    blobs = await nothing_left.count("blobs")
    body = multipart(part(b'name="file"; filename="photo.png"', make()))
    for path in ("/", API):
        response = await nothing_left.client.post(path, data=body, headers=MULTIPART)
        await expect_error(response, 422, "unprocessable", message)
    assert await nothing_left.count("blobs") == blobs
    assert (await nothing_left.client.get("/healthz")).status == 200


# ---- links ----------------------------------------------------------------------------------

ONLY_WEB = "Only http and https links can be shortened."
NO_SCHEME = "The link needs a scheme: http:// or https://."
NO_HOST = "The link has no host."
CONTROLS = "The link contains spaces or control characters."
CREDENTIALS = "Links with a user name or password in them are not accepted."
BAD_HOST = "The link's host has characters a host name cannot have."
ITSELF = "Links to this refbin itself cannot be shortened."
TOO_LONG = "The link is longer than 2048 characters."
LINKS = {
    "javascript": ("javascript:alert(1)", ONLY_WEB),
    "mixed-case": ("JaVaScRiPt:alert(document.cookie)", ONLY_WEB),
    "leading-space": (" javascript:alert(1)", ONLY_WEB),
    "leading-control": ("\x01javascript:alert(1)", ONLY_WEB),
    "leading-nul": ("\x00javascript:alert(1)", ONLY_WEB),
    "tab-inside": ("java\tscript:alert(1)", CONTROLS),
    "newline-inside": ("java\nscript:alert(1)", CONTROLS),
    "full-width": ("".join(chr(ord(c) + 0xFEE0) for c in "javascript") + ":1", NO_SCHEME),
    "entity": ("javascript&colon;alert(1)", NO_SCHEME),
    "javascript-with-host": ("javascript://example.com/%0aalert(1)", ONLY_WEB),
    "data": ("data:text/html,<script>alert(1)</script>", ONLY_WEB),
    "data-base64": ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", ONLY_WEB),
    "vbscript": ("vbscript:msgbox(1)", ONLY_WEB),
    "file": ("file:///etc/passwd", ONLY_WEB),
    "blob": ("blob:https://example.com/5f1d7c3e", ONLY_WEB),
    "ftp": ("ftp://example.com/", ONLY_WEB),
    "protocol-relative": ("//evil.example/x", NO_SCHEME),
    "triple-slash": ("///evil.example/x", NO_SCHEME),
    "unc-path": ("\\\\evil.example\\share", NO_SCHEME),
    "scheme-without-slashes": ("https:evil.example", NO_HOST),
    "slash-backslash": ("https:/\\evil.example/", NO_HOST),
    "user-and-password": ("https://user:pass@example.com/", CREDENTIALS),
    "lookalike-userinfo": ("https://google.com@evil.example/", CREDENTIALS),
    "backslash-userinfo": ("https://evil.example\\@google.com/", CREDENTIALS),
    "encoded-at": ("https://google.com%40evil.example/", BAD_HOST),
    "backslash-host": ("https://good.example\\.evil.example/", BAD_HOST),
    "markup-host": ("https://<script>/", BAD_HOST),
    "space-in-host": ("https://exa mple.com/", CONTROLS),
    "markup-with-spaces": ("https://example.com/<img src=x onerror=alert(1)>", CONTROLS),
    "bidi-in-path": ("https://example.com/\u202etxt.exe", CONTROLS),
    "zero-width-host": ("https://\u200bexample.com/", CONTROLS),
    "broken-ipv6": ("http://[::1", "The link is malformed"),
    "port-out-of-range": ("https://example.com:99999/", "The link is malformed"),
    "too-many-ipv4-parts": ("http://1.2.3.4.5/", "not a valid IPv4 address"),
    "empty": ("   ", "The link is empty."),
    "2049-characters": ("https://example.com/" + "a" * 2029, TOO_LONG),
    "itself": ("http://127.0.0.1:8080/x", ITSELF),
    "itself-other-port": ("HTTP://127.0.0.1:9999/x", ITSELF),
    "itself-trailing-dot": ("http://127.0.0.1.:8080/x", ITSELF),
    "itself-as-a-number": ("http://2130706433:8080/x", ITSELF),
    "itself-in-hex": ("http://0x7f.0.0.1:8080/x", ITSELF),
    "itself-short-form": ("http://127.1:8080/x", ITSELF),
    "itself-full-width-digits": ("http://\uff11\uff12\uff17.0.0.1:8080/x", ITSELF),
}


@pytest.mark.parametrize(("link", "message"), LINKS.values(), ids=LINKS.keys())
async def test_hostile_links_are_refused_with_the_reason(
    nothing_left: SharedApp, link: str, message: str
) -> None:
    client = nothing_left.client
    response = await client.post(API, json={"url": link})
    await expect_error(response, 400, "invalid", message)
    if link.strip() and "\x00" not in link:  # the web form skips a blank url; NUL is JSON's
        form = await client.post("/", data={"url": link})
        await expect_error(form, 400, "invalid", message)


ACCEPTED = {
    "itself-only-in-the-query": (
        "https://example.com/?next=http://127.0.0.1:8080/x",
        "https://example.com/?next=http://127.0.0.1:8080/x",
    ),
    "itself-only-in-the-path": (
        "https://example.com/127.0.0.1:8080",
        "https://example.com/127.0.0.1:8080",
    ),
    "itself-as-a-subdomain-label": (
        "https://127.0.0.1.example.com/",
        "https://127.0.0.1.example.com/",
    ),
    "homograph-cyrillic-a": ("https://\u0430pple.com/login", "https://xn--pple-43d.com/login"),
    "homograph-greek-omicron": ("https://g\u03bf\u03bfgle.com/", "https://xn--ggle-0nda.com/"),
    "full-width-host": (
        "https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/a",
        "https://example.com/a",
    ),
    "2048-characters": ("https://example.com/" + "a" * 2028, "https://example.com/" + "a" * 2028),
}


@pytest.mark.parametrize(("link", "stored"), ACCEPTED.values(), ids=ACCEPTED.keys())
async def test_links_are_judged_by_their_parsed_host_and_stored_ascii(
    shared_app: SharedApp, link: str, stored: str
) -> None:
    client = shared_app.client
    response = await client.post(API, json={"url": link})
    created = await response.json()
    assert response.status == 201, created
    assert created["target"] == stored
    redirect = await client.get(f"/{created['id']}", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == stored
    info = await (await client.get(f"/{created['id']}+", headers=HTML)).text()
    assert str(escape(stored)) in info
    if stored != link:  # the look-alike spelling is never shown
        host = link.split("/")[2]
        assert host not in info


ROUTE_WORDS = ["api", "raw", "static", "healthz", "metrics", "oembed", "sharex", "favicon",
               "robots", "thumb", "qr", "API", "Metrics", "HealthZ", "well-known"]  # fmt: skip
NOT_ALIASES = ["sharex.sxcu", "favicon.ico", "robots.txt", "openapi.json", ".well-known",
               "x+", "a/b", "../api", "api%2Fv1", "-api", "a" * 65]  # fmt: skip


async def test_aliases_that_would_shadow_routes_are_400(nothing_left: SharedApp) -> None:
    client = nothing_left.client
    for alias in ROUTE_WORDS:
        response = await client.post(API, json={"url": "https://example.com/", "alias": alias})
        await expect_error(response, 400, "invalid", f"The alias {alias!r} is reserved.")
    for alias in NOT_ALIASES:
        response = await client.post(API, json={"url": "https://example.com/", "alias": alias})
        await expect_error(response, 400, "invalid", "An alias is 1 to 64 letters, digits")
    form = await client.post("/", data={"url": "https://example.com/", "alias": "healthz"})
    await expect_error(form, 400, "invalid", "is reserved")
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 200
    assert (await client.get("/api/v1/openapi.json")).status == 200


# ---- headers are data --------------------------------------------------------------------------

REFERERS = {
    b"http://x' OR '1'='1; DROP TABLE refs;--/": "x' or '1'='1; drop table refs;--",
    b"https://<script>alert(1)</script>/": "<script>alert(1)<",
    b'https://"onmouseover=alert(1)//': '"onmouseover=alert(1)',
    b"http://[": "",  # not a URL at all
    b"https://caf\xe9.example/": "",  # not UTF-8: would poison every later flush
    b"https://\xe2\x80\xaeevil.example/": "",  # a bidi override
    b"/relative/only": "",
}


async def test_referers_are_counted_as_their_host_or_dropped(shared_app: SharedApp) -> None:
    client, service = shared_app.client, shared_app.runtime.service
    token = await service.create_api_token("referer-owner")
    owner = {"Authorization": f"Bearer {token}"}
    created = await (
        await client.post(API, json={"url": "https://example.com/counted"}, headers=owner)
    ).json()
    content_id = created["id"]
    await service.counter.flush(shared_app.runtime.db.pool)  # earlier tests' visits
    for referer in REFERERS:
        for path in (f"/{content_id}", f"/{content_id}/raw"):
            answer = await raw_request(client, http_get(path, b"Referer: " + referer))
            assert answer.status in (200, 302), (referer, answer.head)
    assert await service.counter.flush(shared_app.runtime.db.pool) == 2 * len(REFERERS)
    stats = await (await client.get(f"{API}/{content_id}/stats", headers=owner)).json()
    shown: dict[str, int] = {}
    for row in stats["referrers"]:
        shown[row["referrer"]] = row["count"]
    expected: dict[str, int] = {}
    for host in REFERERS.values():
        expected[host] = expected.get(host, 0) + 2
    assert shown == expected
    assert stats["views"] == 2 * len(REFERERS)
    # The counter is not poisoned: the next visit is flushed like any other.
    await client.get(f"/{content_id}", allow_redirects=False)
    assert await service.counter.flush(shared_app.runtime.db.pool) == 1
    assert await shared_app.count("refs") > 0  # "DROP TABLE refs" was only ever a string
    # Of a visit, only its day and the referring host are kept: no address, no agent.
    columns = await shared_app.runtime.db.pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'visits'"
    )
    assert {c["column_name"] for c in columns} == {"content_id", "day", "referrer", "count"}


async def test_header_values_that_are_not_utf8_are_refusals_not_crashes(
    shared_app: SharedApp,
) -> None:
    client = shared_app.client
    locked = await (await client.post(API, json={"text": "locked", "password": "pw"})).json()
    path = f"/{locked['id']}"
    cases = [
        (path, b"X-Password: \xff\xfe", 401, "password_required"),
        (path + "/raw", b"X-Password: caf\xe9", 401, "password_required"),
        (path, b"Cookie: refbin_unlock=9999999999.\xff", 401, "password_required"),
        (API, b"Authorization: Bearer \xff" + new_token().encode(), 401, "unauthorized"),
        (f"{API}/{locked['id']}", b"X-Password: \xc3", 401, "password_required"),
        ("/oembed?url=http%3A%2F%2F%5B", b"X-Nothing: 1", 404, "not_found"),
    ]
    for target, header, status, code in cases:
        answer = await raw_request(client, http_get(target, header))
        assert answer.status == status, (header, answer.head, answer.body[:200])
        assert error_of(answer.body)["code"] == code
    assert (await client.get(path, headers={"X-Password": "pw"})).status == 200
