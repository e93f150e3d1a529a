"""/mine points to the web dashboard once sign-in with Discord is configured: the same owner's
items, all of them, at {public_url}/me."""

from __future__ import annotations

import dataclasses

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
