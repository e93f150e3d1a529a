"""refbin in a real browser: headless Chromium on a real loopback server. Uploads by drag and
drop and by the form (with and without JavaScript), a highlighted paste and its line anchors,
an image page, and a short link that takes the browser to another site."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from playwright.async_api import expect

from tests.browser_fixtures import (  # noqa: F401 - fixtures
    LiveServer,
    Tabs,
    browser_fixture,
    landing_site_fixture,
    live_server_fixture,
    screenshot,
    tabs_fixture,
)
from tests.helpers import id_of, png_bytes

PASTE = 'import sys\n\n\ndef greet(name: str) -> str:\n    return f"hello, {name}"\n'


async def add(server: LiveServer, **fields: str | tuple[str, bytes]) -> str:
    """Add an item the curl way; its short URL."""
    data = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        if isinstance(value, tuple):
            data.add_field(name, value[1], filename=value[0])
        else:
            data.add_field(name, value)
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.url + "/", data=data) as answer,
    ):
        assert answer.status == 201, await answer.text()
        return (await answer.text()).strip()


async def fetch(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        assert answer.status == 200
        return await answer.read()


async def test_files_dropped_on_the_page_upload_with_progress(
    tabs: Tabs, live_server: LiveServer, tmp_path: Path
) -> None:
    tab = await tabs.open()
    page = tab.page
    await page.goto(live_server.url + "/")
    # Slow uploads down so the progress bar is seen moving.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2_000_000},
    )
    await page.evaluate(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["dropped text\\n"], "notes.txt", {type: "text/plain"}));
            const big = new Uint8Array(1536 * 1024);
            for (let i = 0; i < big.length; i++) big[i] = i % 251;
            transfer.items.add(new File([big], "blob.bin", {type: "application/octet-stream"}));
            const zone = document.querySelector("#dropzone");
            for (const type of ["dragenter", "dragover", "drop"]) {
                const init = {bubbles: true, cancelable: true, dataTransfer: transfer};
                zone.dispatchEvent(new DragEvent(type, init));
            }
        }"""
    )
    await expect(page.locator("#file-list li")).to_have_count(2)
    # Sizes are spelt as the server's pages spell them (bot/units.py format_size).
    await expect(page.locator("#file-list .file-size")).to_have_text(["13 B", "1.5 MiB"])
    await expect(page.locator("#mode-file")).to_be_checked()
    await screenshot(page, tmp_path, "home-files-dropped")
    await page.click("#submit")
    await page.wait_for_function(
        """() => [...document.querySelectorAll('.upload-results progress')]
                 .some(bar => bar.value > 0 && bar.value < 100)""",
        timeout=10_000,
    )
    await screenshot(page, tmp_path, "home-upload-progress")
    links = page.locator(".upload-results a.upload-link")
    await expect(links).to_have_count(2, timeout=15_000)
    urls = await links.evaluate_all("links => links.map(link => link.href)")
    assert await fetch(urls[0] + "/raw") == b"dropped text\n"
    assert await fetch(urls[1] + "/raw") == bytes(i % 251 for i in range(1536 * 1024))
    await expect(page.locator(".upload-token")).to_have_count(2)
    await screenshot(page, tmp_path, "home-uploaded")
    assert tab.errors == []


async def test_file_upload_by_the_form_with_and_without_script(
    tabs: Tabs, live_server: LiveServer, tmp_path: Path
) -> None:
    upload = tmp_path / "report.csv"
    upload.write_text("a,b\n1,2\n")

    scripted = await tabs.open()
    page = scripted.page
    await page.goto(live_server.url + "/")
    await page.click("label[for=mode-file]")
    await page.set_input_files("#file-input", str(upload))
    await expect(page.locator("#file-list li")).to_have_count(1)
    await page.click("#submit")
    link = page.locator(".upload-results a.upload-link")
    await expect(link).to_have_count(1, timeout=10_000)
    assert await fetch(await link.get_attribute("href") + "/raw") == b"a,b\n1,2\n"
    assert scripted.errors == []

    plain = await tabs.open(javascript=False)
    page = plain.page
    await page.goto(live_server.url + "/")
    await page.click("label[for=mode-file]")
    await page.select_option("select[name=expires]", "1d")
    await page.set_input_files("#file-input", str(upload))
    await page.click("#submit")
    await expect(page.locator("#short-url")).to_be_visible()
    short = await page.locator("#short-url").input_value()
    assert short.startswith(live_server.url + "/")
    item = await live_server.runtime.service.get(id_of(short))
    assert item.kind == "file" and item.filename == "report.csv"
    assert item.expires_at is not None
    await expect(page.locator(".token-box input")).to_have_value(re.compile(r".{20,}"))
    await screenshot(page, tmp_path, "created-without-script")


async def test_paste_is_highlighted_and_lines_can_be_linked(
    tabs: Tabs, live_server: LiveServer, tmp_path: Path
) -> None:
    tab = await tabs.open()
    page = tab.page
    await page.goto(live_server.url + "/")
    await page.click("label[for=mode-paste]")
    await page.fill("textarea[name=text]", PASTE)
    await page.select_option("select[name=language]", "python")
    await page.click("#submit")
    await expect(page.locator("#short-url")).to_be_visible()
    await expect(page.locator("button[data-copy-from='#short-url']")).to_be_visible()
    await screenshot(page, tmp_path, "created-paste")
    short = await page.locator("#short-url").input_value()

    await page.goto(short + "#L4")
    assert await page.locator("table.code span.k").count() > 0  # Pygments' keyword spans
    assert await page.locator("table.code span.nf").first.text_content() == "greet"
    target = await page.evaluate(
        "() => [document.querySelector(':target').id,"
        " document.querySelector(':target td.line-code').textContent]"
    )
    assert target == ["L4", "def greet(name: str) -> str:"]
    await screenshot(page, tmp_path, "paste-light")

    await page.goto(short + "#L2-L4")
    await expect(page.locator("tr.selected")).to_have_count(3)
    await page.click("#L1 td.line-no a")
    await page.click("#L5 td.line-no a", modifiers=["Shift"])
    assert page.url.endswith("#L1-L5")
    await expect(page.locator("tr.selected")).to_have_count(5)
    assert tab.errors == []

    phone = await tabs.open(dark=True, width=390)
    await phone.page.goto(short + "#L4")
    background = await phone.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    keyword = await phone.page.evaluate(
        "() => getComputedStyle(document.querySelector('table.code span.k')).color"
    )
    assert keyword == "rgb(255, 123, 114)"  # github-dark's keyword colour
    await screenshot(phone.page, tmp_path, "paste-phone-dark")


async def test_image_page_shows_the_image(
    tabs: Tabs, live_server: LiveServer, tmp_path: Path
) -> None:
    short = await add(live_server, file=("sunset.png", png_bytes(900, 600, (240, 120, 40))))
    tab = await tabs.open()
    page = tab.page
    await page.goto(short)
    image = page.locator(".image-frame img")
    await expect(image).to_be_visible()
    natural = await image.evaluate("img => img.complete && img.naturalWidth")
    assert natural == 512
    assert await page.locator("text=900 × 600").count() == 1
    await screenshot(page, tmp_path, "image-page")
    assert tab.errors == []


async def test_short_link_takes_the_browser_to_its_target(
    tabs: Tabs, live_server: LiveServer, landing_site: str, tmp_path: Path
) -> None:
    target = landing_site + "/landing"
    short = await add(live_server, url=target)
    tab = await tabs.open()
    page = tab.page
    await page.goto(short)
    assert page.url == target
    await expect(page.locator("h1")).to_have_text("You have arrived")

    await page.goto(short + "+")
    assert page.url == short + "+"
    await expect(page.locator(".target-box")).to_have_text(target)
    await screenshot(page, tmp_path, "link-info")

    await page.goto(live_server.url + "/nothing-here")
    await expect(page.locator(".status-code")).to_have_text("404")
    await screenshot(page, tmp_path, "not-found")
    assert [e for e in tab.errors if "404" not in e] == []


async def test_password_protected_paste_opens_with_its_password(
    tabs: Tabs, live_server: LiveServer, tmp_path: Path
) -> None:
    short = await add(live_server, text="the secret plan\n", language="text", password="s3cret")
    tab = await tabs.open()
    page = tab.page
    prompt = await page.goto(short)
    assert prompt is not None and prompt.status == 401
    await screenshot(page, tmp_path, "password-prompt")
    await page.fill("input[name=password]", "not it")
    await page.click("form.unlock-form button")
    await expect(page.locator(".message")).to_have_text("The password is wrong.")
    await page.fill("input[name=password]", "s3cret")
    await page.click("form.unlock-form button")
    await expect(page.locator("table.code")).to_contain_text("the secret plan")
    assert page.url == short
    raw = await page.goto(short + "/raw")
    assert raw is not None and raw.status == 200
    assert await raw.text() == "the secret plan\n"
    assert [e for e in tab.errors if "401" not in e] == []
