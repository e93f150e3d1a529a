"""Fixtures for the browser tests: the system's Chromium driven by Playwright, refbin on a real
loopback port (its public URL is that port, so short links lead back to it), and a second tiny
site for short links to lead to.

Test modules take them with `from tests.browser_fixtures import tabs_fixture, …`: the fixtures
are named (`tabs`, `live_server`, `landing_site`) so test parameters do not shadow the import.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from bot.config import Settings
from bot.runtime import Runtime, open_runtime
from bot.service import ContentService
from bot.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/refbin-shots")


@pytest.fixture(scope="module", name="browser")
async def browser_fixture() -> AsyncIterator[Browser]:
    """Headless Chromium; a missing one fails the tests (CI installs it), never skips them."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/ensure-system-deps.sh to install it")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class LiveServer:
    """refbin on a loopback port whose address is its public URL."""

    url: str
    runtime: Runtime

    @property
    def service(self) -> ContentService:
        return self.runtime.service


@contextlib.asynccontextmanager
async def running_site(settings: Settings) -> AsyncIterator[LiveServer]:
    """refbin on 127.0.0.1 at a free port, with that address as its public URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, public_url=url)
    )
    async with open_runtime(live) as runtime:
        runner = web.AppRunner(create_app(runtime.service), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        try:
            yield LiveServer(url=url, runtime=runtime)
        finally:
            await runner.cleanup()


@pytest.fixture(name="live_server")
async def live_server_fixture(settings: Settings) -> AsyncIterator[LiveServer]:
    """refbin on 127.0.0.1 at a free port, with that address as its public URL."""
    async with running_site(settings) as running:
        yield running


@pytest.fixture(name="landing_site")
async def landing_site_fixture() -> AsyncIterator[str]:
    """A page for short links to lead to, on 127.0.0.2: a host that is not refbin's own."""

    async def landing(request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><title>Landing</title><h1>You have arrived</h1>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/landing", landing)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.2", 0))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.2:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


@dataclass
class BrowserPage:
    """A fresh page, and the console errors it logged (a CSP violation shows up there)."""

    page: Page
    errors: list[str]


class Tabs:
    """Opens pages in fresh browser contexts, and closes them all when the test ends."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self._contexts: list[BrowserContext] = []

    async def open(
        self, *, javascript: bool = True, dark: bool = False, width: int = 1280
    ) -> BrowserPage:
        context = await self.browser.new_context(
            viewport={"width": width, "height": 900},
            java_script_enabled=javascript,
            color_scheme="dark" if dark else "light",
        )
        self._contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []

        def keep(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", keep)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return BrowserPage(page=page, errors=errors)

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()


@pytest.fixture(name="tabs")
async def tabs_fixture(browser: Browser) -> AsyncIterator[Tabs]:
    opened = Tabs(browser)
    try:
        yield opened
    finally:
        await opened.close()


async def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot under the test's folder, copied to /tmp/refbin-shots for people."""
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path
