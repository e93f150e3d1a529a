"""Signing in with Discord in real Chromium, against the OAuth2 stand-in: the header's "Sign in",
Discord's page (the stand-in agrees at once), the dashboard with what the bot stored for the same
Discord user, tokens, sessions, the admin view, signing out; at desktop and phone widths, light
and dark, with and without JavaScript. Screenshots go under the test's folder."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
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
    OPERATOR,
    Site,
    oauth_fixture,
    site_fixture,
)


async def bots_items_for_alice(site: Site) -> list[str]:
    """What alice stored through the bot: items of the owner it keeps for her Discord user."""
    service = site.service
    owner_id = await service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    options = ItemOptions(owner_id=owner_id)
    link = await service.add_link("https://example.com/saved-from-discord", options=options)
    paste = await service.add_paste(
        "SELECT 1;\n", language="sql", filename="query.sql", options=options
    )
    return [link.item.content_id, paste.item.content_id]


async def sign_in_from_the_header(page: Page, site: Site) -> None:
    await page.goto(site.url + "/")
    await page.get_by_role("link", name="Sign in").click()
    await page.wait_for_url(site.url + "/me")


async def test_signing_in_shows_the_bots_items_then_signing_out(
    tabs: Tabs, site: Site, oauth: OAuthStandin, tmp_path: Path
) -> None:
    made = await bots_items_for_alice(site)
    oauth.signed_in_as = ALICE
    tab = await tabs.open(width=1280)
    page = tab.page

    await sign_in_from_the_header(page, site)

    await expect(page.locator(".site-header .account-name")).to_have_text("alice")
    for content_id in made:
        await expect(page.locator(f'a[href="/{content_id}"]')).to_be_visible()
    await expect(page.locator(".item-list")).to_contain_text("saved-from-discord")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["refbin_session"]["httpOnly"] and cookies["refbin_session"]["sameSite"] == "Lax"
    assert "refbin_signin" not in cookies
    await screenshot(page, tmp_path, "signin-me-1280")

    await page.get_by_role("link", name="API tokens").click()
    await page.get_by_label("Name").fill("ShareX on my desktop")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#api-token")).to_have_value(re.compile(r"^[\w-]{32,}$"))
    await screenshot(page, tmp_path, "signin-token-created-1280")
    await page.get_by_role("link", name="Done").click()
    await expect(page.locator("table.listing")).to_contain_text("ShareX on my desktop")
    await page.get_by_role("link", name="Sessions").click()
    await expect(page.locator("table.listing")).to_contain_text("this browser")
    await screenshot(page, tmp_path, "signin-sessions-1280")

    await page.get_by_role("button", name="Sign out").first.click()
    await page.wait_for_url(site.url + "/")
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert "refbin_session" not in {c["name"] for c in await page.context.cookies()}
    assert tab.errors == []


async def test_on_a_phone_in_the_dark_without_javascript(
    tabs: Tabs, site: Site, oauth: OAuthStandin, tmp_path: Path
) -> None:
    await bots_items_for_alice(site)
    oauth.signed_in_as = ALICE
    tab = await tabs.open(width=390, dark=True, javascript=False)
    page = tab.page

    await sign_in_from_the_header(page, site)

    header = page.locator(".site-header")
    await expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    box = await header.bounding_box()
    assert box is not None and box["width"] <= 390
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await screenshot(page, tmp_path, "signin-me-390-dark")
    await page.get_by_role("link", name="API tokens").click()
    await page.get_by_label("Name").fill("phone")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#api-token")).to_be_visible()
    await screenshot(page, tmp_path, "signin-token-created-390-dark")
    await page.goto(site.url + "/me/sessions")
    await screenshot(page, tmp_path, "signin-sessions-390-dark")
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.wait_for_url(site.url + "/")
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert tab.errors == []


async def test_the_operator_moderates_from_the_admin_view(
    tabs: Tabs, site: Site, oauth: OAuthStandin, tmp_path: Path
) -> None:
    link_id, _ = await bots_items_for_alice(site)
    oauth.signed_in_as = OPERATOR
    for width, dark in ((1280, False), (390, True)):
        tab = await tabs.open(width=width, dark=dark)
        page = tab.page
        await sign_in_from_the_header(page, site)
        await page.get_by_role("link", name="Admin").click()
        await expect(page.locator("table.listing")).to_contain_text("alice")
        await screenshot(page, tmp_path, f"admin-owners-{width}")
        await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Items").click()
        await expect(page.locator(f"#item-{link_id}")).to_be_visible()
        await screenshot(page, tmp_path, f"admin-items-{width}")
        assert tab.errors == []

    row = page.locator(f"#item-{link_id}")
    await row.get_by_label(f"Reason to block {link_id}").fill("phishing")
    await row.get_by_role("button", name="Block").click()
    await expect(page.locator(f"#item-{link_id}")).to_contain_text("phishing")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{site.url}/{link_id}", allow_redirects=False) as answer,
    ):
        assert answer.status == 451
