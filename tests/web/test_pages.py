"""The pages people see: paste, image, file and link pages, previews, QR codes, errors,
passwords, cross-site posts, inert user content and the paste render cache."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from datetime import timedelta
from html.parser import HTMLParser

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from markupsafe import escape
from PIL import Image

from bot.lru import SizedCache
from bot.models import ItemOptions
from bot.web.render import MAX_LINES, Rendered
from bot.web.templating import LANGUAGE_CHOICES, PAGES_KEY
from tests.helpers import id_of, png_bytes

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DISCORD = {"User-Agent": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"}


def form(**fields: object) -> aiohttp.FormData:
    # Unquoted, as curl and browsers send them: a filename arrives exactly as written.
    data = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content = value
            data.add_field(name, content, filename=filename)
        else:
            data.add_field(name, str(value))
    return data


async def add(client: TestClient, **fields: object) -> str:
    """Post an item the curl way; its content id."""
    response = await client.post("/", data=form(**fields))
    assert response.status in (200, 201), await response.text()
    return id_of(await response.text())


class PageParts(HTMLParser):
    """The parts of a page the tests look at: meta tags, links, scripts, images, styles."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.style_attributes = 0
        self.inline_handlers = 0
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.style_attributes += "style" in found
        self.inline_handlers += any(name.startswith("on") for name in found)
        if tag == "meta":
            key = found.get("property") or found.get("name")
            if key:
                self.meta[key] = found.get("content") or ""
        elif tag == "link":
            self.links.append(found)
        elif tag == "script":
            self.scripts.append(found)
        elif tag == "img":
            self.images.append(found)


async def page_of(client: TestClient, path: str, status: int = 200) -> tuple[str, PageParts]:
    response = await client.get(path, headers=HTML, allow_redirects=False)
    text = await response.text()
    assert response.status == status, text[:500]
    assert response.content_type == "text/html"
    assert_page_headers(response)
    return text, PageParts(text)


def assert_page_headers(response: aiohttp.ClientResponse) -> None:
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def assert_no_inline_code(parts: PageParts) -> None:
    assert parts.scripts and all(script.get("src") for script in parts.scripts)
    assert parts.style_attributes == 0
    assert parts.inline_handlers == 0


# ---- home and the form --------------------------------------------------------------------


async def test_home_page_is_one_form_for_links_pastes_and_files(client: TestClient) -> None:
    text, parts = await page_of(client, "/")
    assert_no_inline_code(parts)
    assert 'action="/"' in text and 'enctype="multipart/form-data"' in text
    for field in ('name="url"', 'name="text"', 'name="file"', 'name="language"'):
        assert field in text
    for option in ('name="expires"', 'name="max_views"', 'name="visibility"', 'name="password"'):
        assert option in text
    assert '<input type="hidden" name="format" value="html">' in text
    # Options precede the file in the markup, so a plain post sends them before the file.
    assert text.index('name="expires"') < text.index('name="file"')
    assert parts.meta["og:site_name"] == "refbin"
    curl = await client.get("/")
    assert curl.content_type == "text/plain"
    assert "curl -F url=" in await curl.text()


async def test_form_post_answers_a_result_page(client: TestClient, settings) -> None:
    response = await client.post(
        "/", data=form(format="html", url="https://example.com/form", text="")
    )
    assert response.status == 201
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    text = await response.text()
    content_id = re.search(r'value="http://[^"]+/([A-Za-z0-9]+)"', text).group(1)
    assert f'value="{settings.server.base_url}/{content_id}"' in text
    assert f'src="/{content_id}/qr"' in text
    assert response.headers["X-Delete-Token"] in text
    assert f'href="/{content_id}+"' in text


async def test_form_fields_left_empty_are_not_items(client: TestClient, runtime) -> None:
    response = await client.post(
        "/", data=form(format="html", mode="paste", url="", text="print('hi')\n", language="")
    )
    assert response.status == 201
    content_id = re.search(r'href="/([A-Za-z0-9]+)">Open', await response.text()).group(1)
    item = await runtime.service.get(content_id)
    assert item.kind == "text"
    # A file input left empty arrives as a part with an empty filename: not an upload.
    data = form(format="html", url="https://example.com/x")
    data.add_field("file", b"", filename="", content_type="application/octet-stream")
    response = await client.post("/", data=data)
    assert response.status == 201
    assert "Goes to" in await response.text()


def test_language_choices_are_canonical_aliases() -> None:
    from bot.service.languages import canonical_language

    assert all(canonical_language(alias) == alias for alias in LANGUAGE_CHOICES)


# ---- pastes -------------------------------------------------------------------------------


PYTHON = "import os\n\n\ndef main(argv):\n    return len(argv) < 2  # <small>\n"


async def test_paste_page_is_highlighted_with_line_anchors(client: TestClient) -> None:
    content_id = await add(client, text=PYTHON, language="python")
    text, parts = await page_of(client, f"/{content_id}")
    assert_no_inline_code(parts)
    assert '<span class="k">def</span>' in text
    assert '<tr id="L4"><td class="line-no"><a href="#L4">4</a></td>' in text
    assert "&lt;small&gt;" in text
    assert ">Python<" in text
    assert f'href="/{content_id}/raw"' in text
    assert f'href="/{content_id}/raw?download=1"' in text
    assert "data-copy-code" in text
    # The page never makes the browser fetch the raw text by itself (a second view).
    assert f'src="/{content_id}/raw' not in text
    assert any("/static/pygments.css" in (link.get("href") or "") for link in parts.links)
    curl = await client.get(f"/{content_id}")  # curl sends Accept: */*
    assert curl.content_type == "text/plain"
    assert await curl.text() == PYTHON


async def test_paste_page_has_preview_tags_and_oembed_discovery(client: TestClient, settings):
    content_id = await add(client, text=PYTHON, language="python", filename="tool.py")
    _, parts = await page_of(client, f"/{content_id}")
    short = f"{settings.server.base_url}/{content_id}"
    assert parts.meta["og:title"] == "tool.py"
    assert parts.meta["og:url"] == short
    assert parts.meta["og:site_name"] == "refbin"
    assert parts.meta["og:description"].startswith("import os\n\n\ndef main(argv):")
    assert parts.meta["twitter:card"] == "summary"
    oembed = [link for link in parts.links if link.get("type") == "application/json+oembed"]
    assert len(oembed) == 1
    assert oembed[0]["href"].startswith(f"{settings.server.base_url}/oembed?url=")


async def test_language_can_be_changed_in_the_url(client: TestClient) -> None:
    content_id = await add(client, text="SELECT id FROM t WHERE x = 'y';\n", language="text")
    plain, _ = await page_of(client, f"/{content_id}")
    assert '<span class="k">' not in plain
    highlighted, _ = await page_of(client, f"/{content_id}?lang=sql")
    assert '<span class="k">SELECT</span>' in highlighted
    assert '<option value="sql" selected>' in highlighted
    refused, _ = await page_of(client, f"/{content_id}?lang=klingon-script", status=400)
    assert "Unknown language" in refused


async def test_long_paste_shows_its_first_part_and_a_raw_link(client: TestClient) -> None:
    content_id = await add(client, text="".join(f"line {n}\n" for n in range(1, 12_001)))
    text, _ = await page_of(client, f"/{content_id}")
    assert f'id="L{MAX_LINES}"' in text
    assert f'id="L{MAX_LINES + 1}"' not in text
    assert f"Only the first {MAX_LINES} lines are shown" in text
    assert f'<a href="/{content_id}/raw">View the whole paste as raw text</a>' in text


async def test_user_content_is_rendered_inert(client: TestClient) -> None:
    hostile = (
        "</script><script>alert(1)</script>\n{{7*7}} {% raw %}\n<img src=x onerror=alert(2)>\n"
    )
    name = "<img src=x onerror=alert(3)>.html"
    for language in ("html", "text"):
        content_id = await add(client, text=hostile, language=language, filename=name)
        text, parts = await page_of(client, f"/{content_id}")
        assert "<script>alert" not in text
        assert "&lt;/script&gt;" in text or "&lt;/</span>" in text
        assert "{{7*7}}" in text.replace('<span class="p">', "").replace("</span>", "")
        assert ">49<" not in text
        assert "<img src=x" not in text
        assert parts.meta["og:title"] == name  # the parser unescapes: it was escaped
        assert parts.inline_handlers == 0
        assert len(parts.images) == 0
    upload = await add(client, file=(name, b"PK\x03\x04 not really a zip"))
    text, parts = await page_of(client, f"/{upload}")
    assert "&lt;img src=x onerror=alert(3)&gt;.html" in text
    assert parts.inline_handlers == 0 and len(parts.images) == 0


async def test_preview_bots_get_the_page_and_are_not_counted(client: TestClient, runtime):
    content_id = await add(client, text=PYTHON)
    response = await client.get(f"/{content_id}", headers=DISCORD)
    assert response.content_type == "text/html"
    assert PageParts(await response.text()).meta["og:title"] == f"Paste {content_id}"
    await runtime.service.counter.flush(runtime.db.pool)
    assert (await runtime.service.get(content_id)).views == 0


async def test_preview_of_a_view_limited_paste_shows_and_spends_nothing(client: TestClient):
    secret = "the launch code is 0000\n"
    content_id = await add(client, text=secret, max_views=1)
    bot_view = await client.get(f"/{content_id}", headers=DISCORD)
    bot_text = await bot_view.text()
    assert "launch code" not in bot_text
    assert PageParts(bot_text).meta["og:description"].startswith("A paste shared on refbin.")
    text, _ = await page_of(client, f"/{content_id}")
    assert "launch code" in text
    await page_of(client, f"/{content_id}", status=410)


# ---- images and files ---------------------------------------------------------------------


async def test_image_page_shows_the_thumbnail_and_links_the_original(client, settings):
    content_id = await add(client, file=("photo.png", png_bytes(800, 600)))
    text, parts = await page_of(client, f"/{content_id}")
    assert_no_inline_code(parts)
    (image,) = parts.images
    assert image["src"] == f"/{content_id}/thumb"
    assert (image["width"], image["height"]) == ("512", "384")
    assert "800 × 600" in text and "image/png" in text
    assert f'href="/{content_id}/raw"' in text
    assert f'href="/{content_id}/raw?download=1"' in text
    assert parts.meta["og:image"] == f"{settings.server.base_url}/{content_id}/thumb"
    assert parts.meta["og:image:width"] == "512"
    assert parts.meta["twitter:card"] == "summary_large_image"
    assert parts.meta["og:description"].startswith("800×600 image/png")


async def test_thumbnail_is_webp_with_its_sha_as_etag(client: TestClient, runtime) -> None:
    content_id = await add(client, file=("photo.png", png_bytes(800, 600)))
    item = await runtime.service.get(content_id)
    response = await client.get(f"/{content_id}/thumb")
    assert response.status == 200
    assert response.content_type == "image/webp"
    assert response.headers["ETag"] == f'"{item.thumb_sha256}"'
    assert "immutable" in response.headers["Cache-Control"]
    assert Image.open(io.BytesIO(await response.read())).size == (512, 384)
    again = await client.get(
        f"/{content_id}/thumb", headers={"If-None-Match": f'"{item.thumb_sha256}"'}
    )
    assert again.status == 304
    paste = await add(client, text="not an image\n")
    assert (await client.get(f"/{paste}/thumb")).status == 404


async def test_view_limited_image_page_inlines_its_thumbnail(client: TestClient) -> None:
    content_id = await add(client, max_views=1, file=("once.png", png_bytes(40, 30)))
    text, parts = await page_of(client, f"/{content_id}")
    (image,) = parts.images
    assert image["src"].startswith("data:image/webp;base64,")
    assert "og:image" not in parts.meta
    assert "counts as a view" in text


@pytest.mark.parametrize(
    ("head", "tag", "media_type"),
    [
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 64, "video", "video/webm"),
        (b"ID3\x03\x00" + b"\x00" * 64, "audio", "audio/mpeg"),
    ],
)
async def test_audio_and_video_play_inline(client, settings, head, tag, media_type) -> None:
    content_id = await add(client, file=(f"clip.{tag}", head))
    text, parts = await page_of(client, f"/{content_id}")
    assert f'<{tag} class="player" controls preload="none" src="/{content_id}/raw">' in text
    assert media_type in text
    if tag == "video":
        assert parts.meta["og:video"] == f"{settings.server.base_url}/{content_id}/raw"
        assert parts.meta["og:video:type"] == media_type


async def test_file_page_offers_a_download(client: TestClient) -> None:
    content_id = await add(client, file=("archive.zip", b"PK\x03\x04" + b"\x00" * 100))
    text, parts = await page_of(client, f"/{content_id}")
    assert_no_inline_code(parts)
    assert "archive.zip" in text and "application/zip" in text and "104 B" in text
    assert f'href="/{content_id}/raw?download=1"' in text
    assert "<video" not in text and "<audio" not in text


# ---- links --------------------------------------------------------------------------------


async def test_link_info_shows_the_target_and_visits_without_going(client, runtime, settings):
    target = "https://example.com/a?b=1&c=<2>"
    content_id = await add(client, url=target)
    for headers in ({}, HTML):  # browsers are redirected too
        followed = await client.get(f"/{content_id}", headers=headers, allow_redirects=False)
        assert followed.status == 302
        assert followed.headers["Location"] == "https://example.com/a?b=1&c=%3C2%3E"
    await runtime.service.counter.flush(runtime.db.pool)
    text, _ = await page_of(client, f"/{content_id}+")  # 200 here: no redirect
    item = await runtime.service.get(content_id)
    assert item.target is not None
    assert str(escape(item.target)) in text and "c=<2>" not in text
    assert re.search(r'class="visits">2<', text)
    assert f"{settings.server.base_url}/{content_id}" in text
    assert f'src="/{content_id}/qr"' in text


# ---- oEmbed and QR codes ------------------------------------------------------------------


async def test_oembed_describes_images_and_pastes(client: TestClient, settings) -> None:
    base = settings.server.base_url
    image = await add(client, file=("pic.png", png_bytes(800, 600)))
    response = await client.get("/oembed", params={"url": f"{base}/{image}", "format": "json"})
    assert response.status == 200
    answer = json.loads(await response.text())
    assert answer["version"] == "1.0" and answer["type"] == "photo"
    assert answer["provider_name"] == "refbin"
    assert (answer["url"], answer["width"], answer["height"]) == (f"{base}/{image}/raw", 800, 600)
    assert answer["thumbnail_url"] == f"{base}/{image}/thumb"
    small = await client.get("/oembed", params={"url": f"{base}/{image}", "maxwidth": "300"})
    assert json.loads(await small.text())["url"] == f"{base}/{image}/thumb"
    paste = await add(client, text="x = 1\n", filename="x.py")
    answer = json.loads(
        await (await client.get("/oembed", params={"url": f"{base}/{paste}"})).text()
    )
    assert answer["type"] == "link" and answer["title"] == "x.py"
    assert (
        await client.get("/oembed", params={"url": "https://elsewhere.example/abc"})
    ).status == 404
    assert (
        await client.get("/oembed", params={"url": f"{base}/{paste}", "format": "xml"})
    ).status == 501


async def test_qr_code_as_svg_and_png(client: TestClient) -> None:
    content_id = await add(client, url="https://example.com/qr")
    svg = await client.get(f"/{content_id}/qr")
    assert svg.status == 200
    assert svg.content_type == "image/svg+xml"
    assert svg.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    body = (await svg.read()).lstrip()
    assert body.startswith((b"<?xml", b"<svg")) and b"<script" not in body
    png = await client.get(f"/{content_id}/qr", params={"format": "png"})
    assert png.content_type == "image/png"
    image = Image.open(io.BytesIO(await png.read()))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 100
    assert (await client.get(f"/{content_id}/qr", params={"format": "gif"})).status == 400
    assert (await client.get("/nosuchid/qr")).status == 404


# ---- errors -------------------------------------------------------------------------------


async def test_browsers_get_error_pages_and_clients_json(client: TestClient) -> None:
    text, _ = await page_of(client, "/nosuchid", status=404)
    assert "Not found" in text
    plain = await client.get("/nosuchid")
    assert plain.status == 404
    assert (await plain.json())["error"]["code"] == "not_found"
    text, _ = await page_of(client, "/no/such/route/at/all", status=404)
    assert "Not found" in text
    api = await client.get("/api/v1/items/nosuchid", headers=HTML)
    assert api.content_type == "application/json"
    once = await add(client, text="once\n", max_views=1)
    assert (await client.get(f"/{once}")).status == 200
    gone, _ = await page_of(client, f"/{once}", status=410)
    assert "Gone" in gone


async def test_bad_form_input_is_a_400_or_422_page(client: TestClient) -> None:
    bad = await client.post("/", data=form(format="html", url="javascript:alert(1)"), headers=HTML)
    assert bad.status == 400 and bad.content_type == "text/html"
    assert_page_headers(bad)
    broken = await client.post(
        "/", data=form(format="html", file=("x.png", b"\x89PNG\r\n\x1a\n broken")), headers=HTML
    )
    assert broken.status == 422 and broken.content_type == "text/html"


async def test_too_large_upload_is_a_413_page(runtime, settings) -> None:
    import dataclasses

    from aiohttp.test_utils import TestServer

    from bot.web import create_app

    small = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, upload=1024))
    runtime.service.settings = small
    async with TestClient(TestServer(create_app(runtime.service))) as small_client:
        response = await small_client.post(
            "/", data=form(format="html", file=("big.bin", b"x" * 4096)), headers=HTML
        )
        assert response.status == 413
        assert response.content_type == "text/html"
        assert "Too large" in await response.text()


# ---- passwords ----------------------------------------------------------------------------


async def test_password_flow_with_an_item_scoped_cookie(client: TestClient) -> None:
    content_id = await add(client, text="behind a password\n", password="hunter2")
    other_id = await add(client, text="another secret\n", password="hunter2")
    text, _ = await page_of(client, f"/{content_id}", status=401)
    assert f'action="/{content_id}/unlock"' in text
    assert "behind a password" not in text

    wrong = await client.post(
        f"/{content_id}/unlock", data={"password": "nope"}, headers=HTML, allow_redirects=False
    )
    assert wrong.status == 401
    assert "The password is wrong." in await wrong.text()
    assert "Set-Cookie" not in wrong.headers

    right = await client.post(
        f"/{content_id}/unlock", data={"password": "hunter2"}, allow_redirects=False
    )
    assert right.status == 303
    assert right.headers["Location"] == f"/{content_id}"
    cookie = right.cookies["refbin_unlock"]
    assert cookie["path"] == f"/{content_id}"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"

    text, _ = await page_of(client, f"/{content_id}")
    assert "behind a password" in text
    raw = await client.get(f"/{content_id}/raw")
    assert raw.status == 200 and await raw.text() == "behind a password\n"

    # The cookie is bound to its item: sent to another one, it opens nothing.
    stolen = {"Cookie": f"refbin_unlock={cookie.value}", **HTML}
    assert (await client.get(f"/{other_id}", headers=stolen)).status == 401
    assert (await client.get(f"/{other_id}/raw", headers=stolen)).status == 401
    expires, _, mac = cookie.value.partition(".")
    forged = {"Cookie": f"refbin_unlock={int(expires) + 9999}.{mac}"}
    client.session.cookie_jar.clear()
    assert (await client.get(f"/{content_id}/raw", headers=forged)).status == 401
    # The API way still works.
    assert (await client.get(f"/{other_id}/raw", headers={"X-Password": "hunter2"})).status == 200


# ---- cross-site posts ---------------------------------------------------------------------


async def test_cross_site_posts_are_refused_and_store_nothing(client: TestClient, runtime):
    async def stored() -> int:
        return await runtime.db.pool.fetchval("SELECT count(*) FROM refs")

    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ):
        refused = await client.post("/", data=form(url="https://example.com/csrf"), headers=headers)
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "forbidden"
    assert await stored() == 0
    page = await client.post(
        "/",
        data=form(url="https://example.com/csrf"),
        headers={"Origin": "https://evil.example", **HTML},
    )
    assert page.status == 403 and page.content_type == "text/html"

    own = f"http://{client.server.host}:{client.server.port}"
    same = await client.post(
        "/",
        data=form(url="https://example.com/same"),
        headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status == 201
    curl = await client.post("/", data=form(url="https://example.com/curl"))
    assert curl.status == 201
    assert await stored() == 2

    locked = await add(client, text="x\n", password="pw")
    unlock = await client.post(
        f"/{locked}/unlock",
        data={"password": "pw"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert unlock.status == 403 and "Set-Cookie" not in unlock.headers


# ---- static files -------------------------------------------------------------------------


async def test_static_files_are_versioned_and_cached(client: TestClient) -> None:
    version = client.server.app[PAGES_KEY].version
    css = await client.get(f"/static/style.css?v={version}")
    assert css.status == 200 and css.content_type == "text/css"
    assert "immutable" in css.headers["Cache-Control"]
    code = await client.get("/static/pygments.css")
    styles = await code.text()
    assert "prefers-color-scheme: dark" in styles and ".hl .k" in styles
    assert code.headers["Cache-Control"] == "no-cache"
    script = await client.get("/static/refbin.js")
    assert script.content_type in ("text/javascript", "application/javascript")
    again = await client.get("/static/refbin.js", headers={"If-None-Match": script.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/static/nope.js")).status == 404


# ---- the render cache ---------------------------------------------------------------------


async def test_second_view_does_not_highlight_again(client: TestClient) -> None:
    renderer = client.server.app[PAGES_KEY].renderer
    content_id = await add(client, text=PYTHON, language="python")
    first, _ = await page_of(client, f"/{content_id}")
    second, _ = await page_of(client, f"/{content_id}")
    assert first == second
    assert renderer.stats.highlights == 1
    assert renderer.stats.misses == 1
    await page_of(client, f"/{content_id}?lang=text")
    assert renderer.stats.highlights == 1  # plain text needs no Pygments


async def test_a_finished_page_is_reused_only_while_its_item_is_unchanged(
    client: TestClient, runtime
) -> None:
    pages = client.server.app[PAGES_KEY]
    owner = await runtime.service.owner_for_discord_user(4242, "pages")
    created = await runtime.service.add_paste(
        PYTHON, language="python", options=ItemOptions(owner_id=owner, expires_in=timedelta(days=1))
    )
    content_id = created.item.content_id
    first, _ = await page_of(client, f"/{content_id}")
    second, _ = await page_of(client, f"/{content_id}")
    assert first == second and pages.finished_hits == 1
    # A changed item (its expiry extended) gets a new page as soon as the item cache has the
    # change (its invalidation arrives by NOTIFY), not the reused page.
    extended = await runtime.service.extend(content_id, owner_id=owner, by=timedelta(days=3))
    for _ in range(200):
        cached = await runtime.service.get(content_id, cached=True)
        if cached.expires_at == extended.expires_at:
            break
        await asyncio.sleep(0.01)
    third, _ = await page_of(client, f"/{content_id}")
    assert pages.finished_hits == 1 and third != first
    # Deleted: the page is gone with it, although its bytes are still in the cache.
    await runtime.service.delete(content_id, owner_id=owner)
    response = await client.get(f"/{content_id}", headers={"Accept": "text/html"})
    assert response.status == 404
    assert pages.finished_hits == 1


async def test_pages_of_protected_or_view_limited_pastes_are_never_reused(
    client: TestClient,
) -> None:
    pages = client.server.app[PAGES_KEY]
    limited = await add(client, text="twice\n", max_views=2)
    for _ in range(2):
        await page_of(client, f"/{limited}")
    assert (await client.get(f"/{limited}", headers={"Accept": "text/html"})).status == 410
    secret = await add(client, text="secret\n", password="hunter2")
    for _ in range(2):
        response = await client.get(
            f"/{secret}", headers={"Accept": "text/html", "X-Password": "hunter2"}
        )
        assert response.status == 200 and "no-store" in response.headers["Cache-Control"]
    assert pages.finished_hits == 0 and len(pages.finished) == 0


def test_render_cache_is_bounded_by_size() -> None:
    cache = SizedCache(max_bytes=10_000)

    def entry(n: int) -> Rendered:
        return Rendered(rows="x" * 900, lines=1, truncated=False, highlighted=True, preview=str(n))

    for n in range(50):
        cache.put((f"sha{n}", "python"), entry(n))
        if n >= 3:
            assert cache.get(("sha3", "python")) is not None  # kept alive by use
        assert cache.bytes <= cache.max_bytes
    assert len(cache) < 50
    assert cache.get(("sha0", "python")) is None
    assert cache.get(("sha49", "python")) is not None
    assert cache.get(("sha3", "python")) is not None
    cache.put(("huge", "python"), Rendered("x" * 20_000, 1, False, True, ""))
    assert cache.get(("huge", "python")) is None and cache.bytes <= cache.max_bytes


async def test_pathological_paste_falls_back_without_blocking(client: TestClient) -> None:
    renderer = client.server.app[PAGES_KEY].renderer
    renderer.time_limit = 1.0
    # Tads3Lexer backtracks exponentially on an unterminated comment of backslashes
    # (pygments issue #3311): one regex match that would run for hours, holding the GIL.
    content_id = await add(client, text="//" + "\\" * 60 + "\n", language="tads3")
    started = time.monotonic()
    page = asyncio.create_task(client.get(f"/{content_id}", headers=HTML))
    slowest = 0.0
    while not page.done():
        asked = time.monotonic()
        health = await client.get("/healthz")
        assert health.status == 200
        slowest = max(slowest, time.monotonic() - asked)
        await asyncio.sleep(0.05)
    response = await page
    elapsed = time.monotonic() - started
    text = await response.text()
    assert response.status == 200
    assert "took too long to highlight" in text
    assert "//" + "\\" * 60 in text
    assert elapsed < renderer.time_limit + 1.5
    assert slowest < 0.2
    assert renderer.stats.fallbacks == 1
    await page_of(client, f"/{content_id}")  # the fallback is cached: no second attempt
    assert renderer.stats.highlights == 1
