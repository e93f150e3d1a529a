"""The dashboard in real Chromium against the OAuth2 stand-in: sign in, find an item the bot made
for the same Discord user, change it, delete it, sign out; select-all and copy with JavaScript,
everything without it; screenshots at 1280 px (light) and 390 px (dark) under the test's folder
and /tmp/refbin-shots."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.async_api import Page, expect

from bot.models import ItemOptions
from tests.browser_fixtures import (  # noqa: F401 - fixtures
    Tabs,
    browser_fixture,
    screenshot,
    tabs_fixture,
)
from tests.oauth_standin import OAuthStandin
from tests.signin_fixtures import (  # noqa: F401 - fixtures
    ALICE,
    Site,
    oauth_fixture,
    site_fixture,
)


def png() -> bytes:
    """A small real image (Pillow makes it), so the dashboard shows its thumbnail."""
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (79, 70, 229)).save(out, "PNG")
    return out.getvalue()


async def made_by_the_bot(site: Site) -> dict[str, str]:
    """What alice stored through the bot (her Discord user's owner): a link, a paste, an image."""
    service = site.service
    owner_id = await service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    options = ItemOptions(owner_id=owner_id)
    link = await service.add_link("https://example.com/saved-from-discord", options=options)
    paste = await service.add_paste(
        "SELECT 1;\n", language="sql", filename="query.sql", options=options
    )

    async def chunks():  # noqa: ANN202
        yield png()

    image = await service.add_upload(chunks(), filename="dot.png", options=options)
    return {
        "link": link.item.content_id,
        "paste": paste.item.content_id,
        "image": image.item.content_id,
    }


async def sign_in(page: Page, site: Site) -> None:
    await page.goto(site.url + "/")
    await page.get_by_role("link", name="Sign in").click()
    await page.wait_for_url(site.url + "/me")


async def fits(page: Page, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, scroll


async def test_manage_an_item_from_the_dashboard(
    tabs: Tabs, site: Site, oauth: OAuthStandin, tmp_path: Path
) -> None:
    made = await made_by_the_bot(site)
    oauth.signed_in_as = ALICE
    tab = await tabs.open(width=1280)
    page = tab.page
    await sign_in(page, site)

    row = page.locator(".dash-item", has=page.locator(f'input[value="{made["link"]}"]'))
    await expect(row).to_contain_text("saved-from-discord")
    await expect(page.locator(".dash-item img")).to_have_count(1)
    await fits(page, 1280)
    await screenshot(page, tmp_path, "dashboard-1280")

    # Select-all (JavaScript) ticks every item on the page.
    await page.get_by_label("All on this page").check()
    assert await page.locator("input.pick:checked").count() == 3
    await page.get_by_label("All on this page").uncheck()

    await page.get_by_role("combobox", name="Kind").select_option("url")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(".dash-item")).to_have_count(1)

    await row.get_by_role("link", name=made["link"]).click()
    await page.wait_for_url(site.url + f"/me/items/{made['link']}")
    await expect(page.locator("#short-url")).to_have_value(site.url + "/" + made["link"])
    await expect(page.locator("img.item-qr")).to_be_visible()
    await expect(page.locator("svg.visits-chart")).to_be_visible()
    await page.get_by_label("View limit").fill("5")
    await page.get_by_label("Visibility").select_option("unlisted")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text("5 of 5 views left")).to_be_visible()
    item = await site.service.get(made["link"])
    assert item.max_views == 5 and item.visibility == "unlisted"
    await fits(page, 1280)
    await screenshot(page, tmp_path, "dashboard-item-1280")

    await page.get_by_role("button", name="Delete this item").click()
    await page.wait_for_url(site.url + "/me")
    await expect(page.locator(f'input[value="{made["link"]}"]')).to_have_count(0)
    await expect(page.locator(".dash-item")).to_have_count(2)

    await page.locator(".site-header").get_by_role("button", name="Sign out").click()
    await page.wait_for_url(site.url + "/")
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert tab.errors == []


async def test_on_a_phone_in_the_dark_without_javascript(
    tabs: Tabs, site: Site, oauth: OAuthStandin, tmp_path: Path
) -> None:
    made = await made_by_the_bot(site)
    oauth.signed_in_as = ALICE
    tab = await tabs.open(width=390, dark=True, javascript=False)
    page = tab.page
    await sign_in(page, site)

    await expect(page.get_by_label("All on this page")).to_be_hidden()
    await fits(page, 390)
    await screenshot(page, tmp_path, "dashboard-390-dark")

    # Without JavaScript: tick two, make them private in one go.
    for content_id in (made["link"], made["paste"]):
        await page.locator(f'input.pick[value="{content_id}"]').check()
    await page.get_by_label("With the ticked items").select_option("visibility:private")
    await page.get_by_role("button", name="Apply to ticked").click()
    await page.wait_for_url(site.url + "/me")
    await expect(page.locator(".badge.vis-private")).to_have_count(2)

    await page.goto(site.url + f"/me/items/{made['paste']}")
    await expect(page.locator("#short-url")).to_be_visible()
    await fits(page, 390)
    await screenshot(page, tmp_path, "dashboard-item-390-dark")
    await page.get_by_role("button", name="Delete this item").click()
    await page.wait_for_url(site.url + "/me")
    await expect(page.locator(".dash-item")).to_have_count(2)
    assert tab.errors == []
