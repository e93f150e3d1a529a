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


async def test_a_command_from_a_dm_after_dms_were_turned_off_is_told_so(
    discord_settings: Settings,
) -> None:
    async with running_refbin(
        discord_settings, bot_options={"sync_globally": True}, discord_settings={"dms": True}
    ) as refbin:
        # the operator turns DMs off; a client still offers the command it saw before
        settings = refbin.bot.settings
        refbin.bot.settings = dataclasses.replace(
            settings, discord=dataclasses.replace(settings.discord, dms=False)
        )
        answer = await refbin.command(
            "shorten",
            user=refbin.alice,
            options={"url": "https://example.com/stale"},
            channel=refbin.api.dm_channel(refbin.alice),
        )

    assert answer.ephemeral and answer.content == NOT_IN_DMS


async def test_a_command_from_a_server_not_allowed_gets_no_answer(
    discord_settings: Settings,
) -> None:
    async with running_refbin(discord_settings) as refbin:
        await refbin.sync_to(refbin.other_guild)
        settings = refbin.bot.settings
        refbin.bot.settings = dataclasses.replace(
            settings,
            discord=dataclasses.replace(settings.discord, allowed_guilds=(refbin.other_guild.id,)),
        )
        refused = await refbin.api.slash_command(
            "shorten",
            user=refbin.alice,
            channel=refbin.general,
            options={"url": "https://example.com/refused"},
        )
        allowed_interaction = await refbin.api.slash_command(
            "shorten",
            user=refbin.alice,
            channel=refbin.other_guild.channel("general"),
            options={"url": "https://example.com/allowed"},
        )
        allowed = await refbin.answer_to(allowed_interaction)

        def callbacks(interaction: dict) -> list:
            path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
            return refbin.api.find_requests("POST", path)

        refused_callbacks = callbacks(refused)
        allowed_callbacks = callbacks(allowed_interaction)

    assert "example.com" in allowed.text
    assert refused_callbacks == [] and len(allowed_callbacks) == 1
