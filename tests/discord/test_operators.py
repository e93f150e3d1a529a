"""Operators decide who uses the bot: the servers it may be in, and whether DMs work."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.discord.tree import NOT_IN_DMS
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    discord_database,
    discord_settings_fixture,
    running_refbin,
)


async def test_the_bot_leaves_servers_not_allowed_at_start_and_on_join(
    discord_settings: Settings,
) -> None:
    async with running_refbin(
        discord_settings, discord_settings=lambda home, other: {"allowed_guilds": (home.id,)}
    ) as refbin:
        left = await refbin.api.wait_for_request(
            "DELETE", f"/users/@me/guilds/{refbin.other_guild.id}"
        )
        stranger = refbin.api.create_guild("Stranger", members=[refbin.alice], joined=False)
        await refbin.api.add_bot_to(stranger)
        left_again = await refbin.api.wait_for_request("DELETE", f"/users/@me/guilds/{stranger.id}")
        answer = await refbin.command(
            "shorten", user=refbin.alice, options={"url": "https://example.com/"}
        )

    assert left.status == 204 and left_again.status == 204
    assert not refbin.api.bot_in(refbin.other_guild) and not refbin.api.bot_in(stranger)
    assert refbin.api.bot_in(refbin.guild)
    assert not answer.ephemeral and "example.com" in answer.text  # the allowed server works


async def test_commands_are_offered_in_servers_only_unless_dms_are_on(
    discord_settings: Settings,
) -> None:
    options = {"sync_globally": True}
    async with running_refbin(discord_settings, bot_options=options) as refbin:
        off = {c["name"]: c.get("contexts") for c in refbin.api.commands()}
    async with running_refbin(
        discord_settings, bot_options=options, discord_settings={"dms": True}
    ) as refbin:
        on = {c["name"]: c.get("contexts") for c in refbin.api.commands()}
        answer = await refbin.command(
            "shorten",
            user=refbin.alice,
            options={"url": "https://example.com/dm"},
            channel=refbin.api.dm_channel(refbin.alice),
        )

    assert off["shorten"] == [0] and off["info"] == [0]
    assert sorted(on["shorten"]) == [0, 1, 2]
    assert on["settings"] == [0]  # a server's settings make no sense in a DM
    assert not answer.ephemeral and "/" in answer.text


def test_allowed_guilds_are_read_from_the_file_and_the_environment(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[discord]\nallowed_guilds = ["123", 456]\ndms = true\n')

    from_file = load_settings(path, environ={})
    from_env = load_settings(None, environ={"REFBIN_DISCORD_ALLOWED_GUILDS": "7, 8"})

    assert from_file.discord.allowed_guilds == (123, 456) and from_file.discord.dms
    assert from_env.discord.allowed_guilds == (7, 8)
    assert not from_env.discord.dms
    with pytest.raises(ConfigError, match="server ids"):
        load_settings(None, environ={"REFBIN_DISCORD_ALLOWED_GUILDS": "home"})
    assert dataclasses.replace(from_env.discord, allowed_guilds=()).allows_guild(99)
    assert not from_env.discord.allows_guild(99)
    assert NOT_IN_DMS.startswith("Commands do not work in DMs")
