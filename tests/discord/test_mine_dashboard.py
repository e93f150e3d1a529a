"""/mine points to the web dashboard once sign-in with Discord is configured: the same owner's
items, all of them, at {public_url}/me."""

from __future__ import annotations

import dataclasses

from bot.models import ItemOptions
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)


async def test_mine_links_to_the_dashboard_only_when_sign_in_is_configured(
    refbin: RefbinDiscord,
) -> None:
    made = await refbin.command("shorten", user=refbin.alice, options={"url": "https://a.example/"})
    without = await refbin.command("mine", user=refbin.alice)
    settings = refbin.service.settings
    refbin.service.settings = dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, client_id="424242424242424242")
    )

    linked = await refbin.command("mine", user=refbin.alice)

    dashboard = f"{settings.server.base_url}/me"
    assert "url" not in without.embeds[0] and "/me" not in without.text
    assert linked.embeds[0]["url"] == dashboard
    assert f"[All your items on the web]({dashboard})" in linked.text
    assert made.embeds[0]["url"] in linked.text  # the items are still listed, as before


async def test_mine_searches_only_the_callers_items_and_shows_the_matching_lines(
    refbin: RefbinDiscord,
) -> None:
    service = refbin.service
    alice = await service.owner_for_discord_user(refbin.alice.id, "alice")
    bob = await service.owner_for_discord_user(refbin.bob.id, "bob")
    mine = await service.add_paste(
        "def walrus():\n    return 'tusks'\n", options=ItemOptions(owner_id=alice)
    )
    await service.add_paste("walrus facts from bob", options=ItemOptions(owner_id=bob))

    found = await refbin.command("mine", user=refbin.alice, options={"query": "walrus"})
    nothing = await refbin.command("mine", user=refbin.alice, options={"query": "narwhal"})
    refused = await refbin.command("mine", user=refbin.alice, options={"query": "color:red"})

    assert mine.item.content_id in found.text and "**walrus**" in found.text
    assert "bob" not in found.text
    assert "Nothing matches." in nothing.text
    assert "Unknown search filter color:" in refused.text
