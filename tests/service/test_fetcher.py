"""The guarded title fetcher against a real local HTTP server: what it reads, and what it
refuses (private addresses by default; loopback only by the test-only switch)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.service.fetcher import MAX_BYTES, PageFacts, TitleFetcher


def html(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html")


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return html("<title>too late</title>")


async def huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    await response.write(b"<html><head>" + b" " * (MAX_BYTES * 2))
    await response.write(b"<title>beyond the limit</title>")
    return response


def page(body: str) -> web.Handler:
    async def handler(request: web.Request) -> web.Response:
        return html(body)

    return handler


def redirect(location: str) -> web.Handler:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler


async def not_html(request: web.Request) -> web.Response:
    return web.json_response({"title": "not html"})


@pytest.fixture
async def site() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/plain", page("<html><title> A  plain\n page </title></html>"))
    app.router.add_get(
        "/og",
        page(
            '<head><title>fallback</title><meta property="og:title" content="The OG title">'
            '<meta name="description" content="What it is about">'
            '<link rel="shortcut icon" href="/favicon.ico"></head>'
        ),
    )
    app.router.add_get("/hop", redirect("/plain"))
    app.router.add_get("/to-private", redirect("http://192.168.1.1/admin"))
    app.router.add_get("/loop", redirect("/loop"))
    app.router.add_get("/slow", slow)
    app.router.add_get("/huge", huge)
    app.router.add_get("/json", not_html)
    runner = web.AppRunner(app, shutdown_timeout=0.5)  # the slow page is not waited for
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_loopback_and_private_addresses_are_refused_by_default(site: str) -> None:
    fetcher = TitleFetcher()
    assert await fetcher.fetch(f"{site}/plain") is None
    assert await fetcher.fetch(f"http://localhost:{site.rsplit(':', 1)[1]}/plain") is None
    assert await fetcher.fetch("http://10.0.0.1/") is None
    assert await fetcher.fetch("ftp://example.com/") is None


async def test_titles_og_tags_and_redirects_within_the_limit(site: str) -> None:
    fetcher = TitleFetcher(allow_loopback=True)
    assert await fetcher.fetch(f"{site}/plain") == PageFacts(title="A plain page")
    assert await fetcher.fetch(f"{site}/og") == PageFacts(
        title="The OG title", description="What it is about", icon=f"{site}/favicon.ico"
    )
    assert await fetcher.fetch(f"{site}/hop") == PageFacts(title="A plain page")


async def test_redirects_to_private_addresses_or_too_many_give_no_title(site: str) -> None:
    fetcher = TitleFetcher(allow_loopback=True)
    assert await fetcher.fetch(f"{site}/to-private") is None
    assert await fetcher.fetch(f"{site}/loop") is None


async def test_slow_huge_and_non_html_pages_have_no_title(site: str) -> None:
    fetcher = TitleFetcher(allow_loopback=True, timeout=1.0)
    started = time.monotonic()
    assert await fetcher.fetch(f"{site}/slow") is None
    assert time.monotonic() - started < 5
    assert await fetcher.fetch(f"{site}/huge") == PageFacts(title=None)
    assert await fetcher.fetch(f"{site}/json") is None
