"""View-limited, private and password-protected items over HTTP: their content is never shown
without spending a view, a view is spent once per person who sees it, and their metadata tells
no stranger what would confirm a guessed secret."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.models import ItemOptions
from bot.runtime import Runtime
from bot.service.grants import SEEN, UNLOCK
from tests.helpers import chunks_of, png_bytes
from tests.web.test_pages import DISCORD, HTML, PageParts, form

API_ITEM = "/api/v1/items/{}"
BROWSER = {**HTML, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"}
TARGET = "https://example.com/the-one-view-target"


@pytest.fixture
async def stranger(client: TestClient) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the same server that keeps no cookies: each request is somebody new."""
    async with aiohttp.ClientSession(
        str(client.make_url("")), cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        yield session


async def owner_and_token(runtime: Runtime) -> tuple[int, str]:
    token = await runtime.service.create_api_token("owner")
    owner_id = await runtime.service.owner_for_api_token(token)
    assert owner_id is not None
    return owner_id, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def views_of(runtime: Runtime, content_id: str) -> int:
    return await runtime.db.pool.fetchval(
        "SELECT views FROM refs WHERE content_id = $1", content_id
    )


# ---- a one-view link's target is its content ---------------------------------------------------


async def test_a_view_limited_links_target_is_shown_only_by_spending_a_view(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    owner_id, token = await owner_and_token(runtime)
    options = ItemOptions(owner_id=owner_id, max_views=1)
    content_id = (await runtime.service.add_link(TARGET, options=options)).item.content_id

    # Looking without spending: a preview bot, the API, the info page, HEAD. None holds it.
    for headers in (DISCORD, {**DISCORD, **HTML}):
        preview = await stranger.get(f"/{content_id}", headers=headers, allow_redirects=False)
        assert preview.status == 200 and "Location" not in preview.headers
        assert TARGET not in await preview.text()
    metadata = await stranger.get(API_ITEM.format(content_id))
    assert metadata.status == 200 and "target" not in await metadata.json()
    info = await stranger.get(f"/{content_id}+", headers=HTML)
    assert info.status == 200 and TARGET not in await info.text()
    for path in (f"/{content_id}/raw", f"/{content_id}"):
        head = await stranger.head(path, allow_redirects=False)
        assert head.status == 200 and "Location" not in head.headers, path
    assert await views_of(runtime, content_id) == 0

    # Its owner is told where it goes, without spending it.
    mine = await stranger.get(
        API_ITEM.format(content_id), headers={"Authorization": f"Bearer {token}"}
    )
    assert (await mine.json())["target"] == TARGET
    assert await views_of(runtime, content_id) == 0

    # Reading it spends the view, whatever asks: an embed, a bot, then nobody else gets it.
    embedded = await stranger.get(f"/{content_id}/raw?embed=1", headers=DISCORD)
    assert embedded.status == 200 and await embedded.text() == TARGET + "\n"
    for path in (f"/{content_id}/raw?embed=1", f"/{content_id}/raw", f"/{content_id}"):
        again = await stranger.get(path, allow_redirects=False)
        assert again.status == 410, path
        assert TARGET not in await again.text() and "Location" not in again.headers


async def test_a_view_limited_link_redirects_a_person_and_spends_the_view(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    created = await runtime.service.add_link(TARGET, options=ItemOptions(max_views=2))
    content_id = created.item.content_id
    bot = await stranger.get(f"/{content_id}", headers=DISCORD, allow_redirects=False)
    assert bot.status == 200 and TARGET not in await bot.text()
    first = await stranger.get(f"/{content_id}", headers=BROWSER, allow_redirects=False)
    assert first.status == 302 and first.headers["Location"] == TARGET
    second = await stranger.get(f"/{content_id}", allow_redirects=False)
    assert second.status == 302 and second.headers["Location"] == TARGET
    assert (await stranger.get(f"/{content_id}", allow_redirects=False)).status == 410
    assert await views_of(runtime, content_id) == 2


# ---- what metadata tells a stranger ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "sha256_shown", "size_shown"),
    [
        ({}, True, True),
        ({"visibility": "unlisted"}, True, True),
        ({"visibility": "private"}, False, True),
        ({"password": "hunter2"}, False, False),
        ({"max_views": 5}, False, False),
    ],
    ids=["public", "unlisted", "private", "password", "view-limited"],
)
async def test_metadata_gives_sha256_and_size_only_where_they_confirm_no_secret(
    client: TestClient,
    runtime: Runtime,
    stranger: aiohttp.ClientSession,
    options: dict[str, object],
    sha256_shown: bool,
    size_shown: bool,
) -> None:
    owner_id, token = await owner_and_token(runtime)
    secret = "PIN 4711\n"
    created = await runtime.service.add_paste(
        secret, options=ItemOptions(owner_id=owner_id, **options)
    )
    content_id = created.item.content_id
    sha256 = hashlib.sha256(secret.encode()).hexdigest()
    password = {"X-Password": "hunter2"}

    seen = await (await stranger.get(API_ITEM.format(content_id), headers=password)).json()
    assert ("sha256" in seen) is sha256_shown
    assert ("size" in seen) is size_shown
    assert seen.get("sha256", sha256) == sha256
    mine = await stranger.get(
        API_ITEM.format(content_id), headers={"Authorization": f"Bearer {token}"}
    )
    assert (await mine.json())["sha256"] == sha256

    # The sha256 is not in an ETag either, nor in the oEmbed answer or the page's tags.
    raw = await stranger.get(f"/{content_id}/raw", headers=password)
    assert raw.status == 200
    assert (sha256 in raw.headers["ETag"]) is sha256_shown
    oembed = await stranger.get("/oembed", params={"url": created.url})
    page = await stranger.get(f"/{content_id}", headers={**DISCORD, **password})
    for answer in (oembed, page):
        assert sha256 not in await answer.text()
    assert await views_of(runtime, content_id) == (1 if "max_views" in options else 0)


async def test_image_previews_give_no_size_of_a_protected_or_view_limited_image(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    data = png_bytes(300, 200)

    async def image(**options: object) -> str:
        created = await runtime.service.add_upload(
            chunks_of(data), filename="photo.png", options=ItemOptions(**options)
        )
        return created.item.content_id

    public, protected, limited = await image(), await image(password="pw"), await image(max_views=2)
    shown = PageParts(await (await stranger.get(f"/{public}", headers=DISCORD)).text())
    assert shown.meta["og:description"].endswith("B")  # "300×200 image/png, 1.2 KiB"
    for content_id in (protected, limited):
        page = await stranger.get(f"/{content_id}", headers={**BROWSER, "X-Password": "pw"})
        assert page.status == 200
        description = PageParts(await page.text()).meta["og:description"]
        assert "B" not in description.split("image/png")[-1], description
        metadata = await stranger.get(API_ITEM.format(content_id), headers={"X-Password": "pw"})
        assert "size" not in await metadata.json()


# ---- HEAD ------------------------------------------------------------------------------------


async def test_head_of_a_view_limited_item_spends_nothing_and_tells_nothing(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    secret = "burn after reading\n"
    created = await runtime.service.add_paste(secret, options=ItemOptions(max_views=1))
    content_id = created.item.content_id
    sha256 = hashlib.sha256(secret.encode()).hexdigest()

    for path in (f"/{content_id}/raw", f"/{content_id}", f"/{content_id}/raw?embed=1"):
        for _ in range(3):
            head = await stranger.head(path)
            assert head.status == 200, path
            assert sha256 not in head.headers.get("ETag", ""), path
            assert head.headers.get("Content-Length") in (None, "0"), path
    assert await views_of(runtime, content_id) == 0

    first = await stranger.get(f"/{content_id}/raw")
    assert first.status == 200 and await first.text() == secret
    assert (await stranger.get(f"/{content_id}/raw")).status == 410
    assert (await stranger.head(f"/{content_id}/raw")).status == 410


async def test_a_private_items_etag_is_keyed_and_still_answers_conditionals(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    data = png_bytes(100, 80)
    created = await runtime.service.add_upload(
        chunks_of(data), filename="p.png", options=ItemOptions(visibility="private")
    )
    content_id = created.item.content_id
    first = await stranger.get(f"/{content_id}/raw")
    etag = first.headers["ETag"]
    assert hashlib.sha256(data).hexdigest() not in etag
    thumb = await stranger.get(f"/{content_id}/thumb")
    assert created.item.thumb_sha256 is not None
    assert created.item.thumb_sha256 not in thumb.headers["ETag"]
    again = await stranger.get(f"/{content_id}/raw", headers={"If-None-Match": etag})
    assert again.status == 304
    head = await stranger.head(f"/{content_id}/raw")
    assert head.headers["ETag"] == etag and head.headers["Content-Length"] == str(len(data))


# ---- exactly once, at once -------------------------------------------------------------------


async def test_fifty_concurrent_requests_for_a_one_view_item_show_it_once(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    secret = "the only copy\n"
    paste = (await runtime.service.add_paste(secret, options=ItemOptions(max_views=1))).item
    link = (await runtime.service.add_link(TARGET, options=ItemOptions(max_views=1))).item
    picture = png_bytes(90, 60, (1, 2, 3))
    image = (
        await runtime.service.add_upload(
            chunks_of(picture), filename="i.png", options=ItemOptions(max_views=1)
        )
    ).item
    ways = [
        ("", BROWSER),  # the page
        ("", {}),  # curl
        ("", DISCORD),  # a preview bot
        ("/raw", {}),
        ("/raw?embed=1", BROWSER),
        ("/raw?download=1", {}),
        ("/raw", DISCORD),
        ("/thumb", BROWSER),
    ]

    def showed(item_kind: str, suffix: str, status: int, body: bytes, location: str) -> bool:
        """Whether an answer holds the item's content."""
        if status in (404, 410):
            return False
        assert status in (200, 302), (item_kind, suffix, status)
        if item_kind == "text":
            return secret.strip().encode() in body
        if item_kind == "url":
            return TARGET in location or TARGET.encode() in body
        # An image: its bytes, its thumbnail, or its page with the thumbnail inlined.
        return body == picture or body[:4] == b"RIFF" or b"data:image/webp;base64," in body

    async def ask(content_id: str, kind: str, way: tuple[str, dict[str, str]]) -> bool:
        suffix, headers = way
        async with stranger.get(
            f"/{content_id}{suffix}", headers=headers, allow_redirects=False
        ) as response:
            body = await response.read()
            location = response.headers.get("Location", "")
            return showed(kind, suffix, response.status, body, location)

    for item in (paste, link, image):
        results = await asyncio.gather(
            *(ask(item.content_id, item.kind, ways[n % len(ways)]) for n in range(50))
        )
        assert results.count(True) == 1, (item.kind, results.count(True))
        assert await views_of(runtime, item.content_id) == 1


# ---- a view-limited image opens --------------------------------------------------------------


async def test_a_one_view_image_opens_from_its_page_for_that_browser_only(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    data = png_bytes(700, 500)
    created = await runtime.service.add_upload(
        chunks_of(data), filename="once.png", options=ItemOptions(max_views=1)
    )
    content_id = created.item.content_id

    page = await client.get(f"/{content_id}", headers=BROWSER)
    assert page.status == 200
    text = await page.text()
    assert "no views left" in text and "1 view left" not in text
    cookie = page.cookies["refbin_seen"]
    assert cookie["path"] == f"/{content_id}" and cookie["httponly"]

    # The page's original, its download and its thumbnail open for the browser that saw it.
    for path in ("/raw?embed=1", "/raw", "/raw?download=1", "/thumb"):
        response = await client.get(f"/{content_id}{path}", headers=BROWSER)
        assert response.status == 200, path
    assert await (await client.get(f"/{content_id}/raw")).read() == data
    # Not the page again, and for nobody else.
    assert (await client.get(f"/{content_id}", headers=BROWSER)).status == 410
    assert (await stranger.get(f"/{content_id}/raw")).status == 410
    assert await views_of(runtime, content_id) == 1


async def test_a_view_limited_videos_page_plays_it(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    video = b"\x1a\x45\xdf\xa3" + b"\x00" * 4096
    created = await runtime.service.add_upload(
        chunks_of(video), filename="clip.webm", options=ItemOptions(max_views=1)
    )
    content_id = created.item.content_id
    page = await client.get(f"/{content_id}", headers=BROWSER)
    text = await page.text()
    assert f'<video class="player" controls preload="none" src="/{content_id}/raw">' in text
    assert "og:video" not in text
    # A player asks for ranges, more than once.
    for start in (0, 100, 4000):
        part = await client.get(f"/{content_id}/raw", headers={"Range": f"bytes={start}-"})
        assert part.status == 206 and await part.read() == video[start:]
    assert (await stranger.get(f"/{content_id}/raw")).status == 410


async def test_views_left_counts_the_view_being_shown(
    client: TestClient, stranger: aiohttp.ClientSession
) -> None:
    response = await client.post("/", data=form(text="three times\n", max_views="3"))
    content_id = (await response.text()).strip().rsplit("/", 1)[1]
    for left in ("2 views left", "1 view left", "no views left"):
        page = await stranger.get(f"/{content_id}", headers=BROWSER)
        assert page.status == 200
        assert left in await page.text(), left
    assert (await stranger.get(f"/{content_id}", headers=BROWSER)).status == 410


# ---- grants are bound to the item they were made for -------------------------------------------


async def test_a_seen_grant_opens_only_the_item_it_was_made_for(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    service = runtime.service
    first = await service.add_paste("first\n", options=ItemOptions(max_views=1))
    second = await service.add_paste("second\n", options=ItemOptions(max_views=1))
    opened = await service.open(first.item.content_id)
    assert opened.seen is not None
    again = await service.open(first.item.content_id, seen=opened.seen)
    assert again.seen is None  # opened by the grant: no view spent, no new grant

    # The grant, sent to the other item, spends that item's view like no grant at all.
    cookie = {"Cookie": f"refbin_seen={opened.seen}"}
    assert (await stranger.get(f"/{second.item.content_id}/raw", headers=cookie)).status == 200
    assert (await stranger.get(f"/{second.item.content_id}/raw", headers=cookie)).status == 410
    # A grant with its expiry moved by hand opens nothing.
    stamp, _, mac = opened.seen.partition(".")
    forged = {"Cookie": f"refbin_seen={int(stamp) + 600}.{mac}"}
    assert not service.grants.holds(SEEN, first.item, f"{int(stamp) + 600}.{mac}")
    assert (await stranger.get(f"/{first.item.content_id}/raw", headers=forged)).status == 410


async def test_malformed_grants_open_nothing(runtime: Runtime) -> None:
    created = await runtime.service.add_paste("x\n", options=ItemOptions(max_views=1))
    grants, item = runtime.service.grants, created.item
    good = grants.issue(SEEN, item)
    stamp, _, mac = good.partition(".")
    assert grants.holds(SEEN, item, good)
    for value in (
        None,
        "",
        ".",
        stamp,
        f"{stamp}.",
        f"²{stamp[1:]}.{mac}",
        f"{stamp}.\udcff",
        f"{stamp}.{mac}é",
        f"{'9' * 40}.{mac}",
        f"{stamp}.{mac[:-1]}",
        f"-1.{mac}",
    ):
        assert not grants.holds(SEEN, item, value), value
    assert not grants.holds(UNLOCK, item, good)  # a grant is for one purpose


async def test_an_unlock_cookie_for_an_alias_does_not_open_the_next_item_under_it(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    service = runtime.service
    old = await service.add_link(
        "https://example.com/old", alias="door", options=ItemOptions(password="old")
    )
    unlocked = await stranger.post("/door/unlock", data={"password": "old"}, allow_redirects=False)
    assert unlocked.status == 303
    cookie = {"Cookie": f"refbin_unlock={unlocked.cookies['refbin_unlock'].value}"}
    opened = await stranger.get("/door", headers=cookie, allow_redirects=False)
    assert opened.headers["Location"] == "https://example.com/old"

    await service.delete("door", delete_token=old.delete_token)
    await service.add_link(
        "https://example.com/new", alias="door", options=ItemOptions(password="new")
    )
    refused = await stranger.get("/door", headers=cookie, allow_redirects=False)
    assert refused.status == 401 and "Location" not in refused.headers
    assert (await stranger.get("/door/raw", headers=cookie)).status == 401


# ---- link previews ---------------------------------------------------------------------------


async def test_previews_speak_plainly_and_ask_bots_for_a_password_with_a_page(
    client: TestClient, runtime: Runtime, stranger: aiohttp.ClientSession
) -> None:
    def uploaded(data: bytes, **options: object):
        return runtime.service.add_upload(
            chunks_of(data), filename=None, options=ItemOptions(**options)
        )

    once = await uploaded(png_bytes(40, 30), max_views=1)
    twice = await runtime.service.add_paste("two\n", options=ItemOptions(max_views=2))
    descriptions = []
    for created in (once, twice):
        page = await stranger.get(f"/{created.item.content_id}", headers=DISCORD)
        descriptions.append(PageParts(await page.text()).meta["og:description"])
    assert descriptions == [
        "An image shared on refbin. It can be opened once.",
        "A paste shared on refbin. It can be opened 2 times in all.",
    ]

    protected = await runtime.service.add_paste("secret\n", options=ItemOptions(password="pw"))
    bot = await stranger.get(f"/{protected.item.content_id}", headers=DISCORD)
    assert bot.status == 401 and bot.content_type == "text/html"
    text = await bot.text()
    assert "<title>Password required" in text and "secret" not in text
