"""/settings and auto-paste through the real discord.py: who may change what, and its effect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.service.guilds import GuildSettings
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
    running_refbin,
)
from tests.discord_standin.intents import MESSAGE_CONTENT
from tests.helpers import id_of

LONG_CODE = "```python\n" + "\n".join(f"print({n})" for n in range(40)) + "\n```"


@pytest.fixture(name="auto_refbin")
async def auto_refbin_fixture(discord_settings: Settings) -> AsyncIterator[RefbinDiscord]:
    """The bot on an instance that lets servers use auto-paste."""
    async with running_refbin(discord_settings, discord_settings={"auto_paste": True}) as running:
        yield running


async def test_settings_are_shown_and_changed_by_a_manager(refbin: RefbinDiscord) -> None:
    shown = await refbin.command("settings show", user=refbin.owner)
    expiry = await refbin.command("settings expiry", user=refbin.owner, options={"default": "3d"})
    kinds = await refbin.command(
        "settings kinds", user=refbin.owner, options={"images": False, "files": False}
    )
    limit = await refbin.command(
        "settings upload-limit", user=refbin.owner, options={"size": "2MiB"}
    )

    assert shown.ephemeral and "Members may store: links, pastes, images, files" in shown.text
    assert "Default expiry: 3d" in expiry.text
    assert "Members may store: links, pastes" in kinds.text
    assert "Upload limit: 2 MiB" in limit.text
    stored = await refbin.service.guild_settings(refbin.guild.id)
    assert stored == GuildSettings(
        guild_id=refbin.guild.id,
        default_expiry=timedelta(days=3),
        allowed_kinds=("url", "text"),
        upload_limit=2 * 1024 * 1024,
    )


async def test_settings_are_only_for_managers_even_if_the_command_is_opened_to_others(
    refbin: RefbinDiscord,
) -> None:
    with pytest.raises(PermissionError):  # Discord does not even show it to alice
        await refbin.api.slash_command("settings show", user=refbin.alice, channel=refbin.general)
    # an admin lets everyone see the command (Server Settings > Integrations)
    commands = refbin.api.commands(refbin.guild)
    for command in commands:
        if command["name"] == "settings":
            command["default_member_permissions"] = None
    refbin.api.register_commands(commands, guild=refbin.guild)

    answer = await refbin.command("settings expiry", user=refbin.alice, options={"default": "1h"})

    assert answer.ephemeral
    assert answer.content == "You need the Manage Server permission for this."
    assert (await refbin.service.guild_settings(refbin.guild.id)).default_expiry is None


async def test_settings_belong_to_the_server_they_are_changed_in(refbin: RefbinDiscord) -> None:
    await refbin.sync_to(refbin.other_guild)
    other_owner = next(
        u for u in refbin.api.world.users.values() if u.id == refbin.other_guild.owner_id
    )

    await refbin.command(
        "settings kinds",
        user=other_owner,
        options={"links": False},
        channel=refbin.other_guild.channels[0],
    )
    here = await refbin.command("shorten", user=refbin.alice, options={"url": "https://a.example"})
    there = await refbin.command(
        "shorten",
        user=refbin.alice,
        options={"url": "https://b.example"},
        channel=refbin.other_guild.channels[0],
    )

    assert here.embeds
    assert there.ephemeral and there.content == "This server does not allow storing links."
    assert (await refbin.service.guild_settings(refbin.guild.id)).allowed_kinds == (
        "url",
        "text",
        "image",
        "file",
    )


async def test_a_servers_default_expiry_applies_to_what_its_members_make(
    refbin: RefbinDiscord,
) -> None:
    await refbin.command("settings expiry", user=refbin.owner, options={"default": "2h"})

    answer = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://example.com/"}
    )

    item = await refbin.service.get(id_of(answer.embeds[0]["url"]))
    assert item.expires_at is not None
    assert abs(item.expires_at - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)


async def test_bad_settings_are_refused_with_the_reason(refbin: RefbinDiscord) -> None:
    too_big = await refbin.command(
        "settings upload-limit", user=refbin.owner, options={"size": "1TiB"}
    )
    nothing = await refbin.command(
        "settings kinds",
        user=refbin.owner,
        options={"links": False, "pastes": False, "images": False, "files": False},
    )
    no_auto = await refbin.command(
        "settings auto-paste",
        user=refbin.owner,
        options={"channel": refbin.general, "enabled": True},
    )

    assert too_big.content == "The upload limit cannot be above this instance's 100 MiB."
    assert nothing.content == "Members must be allowed to store at least one kind of item."
    assert no_auto.content.startswith("Auto-paste is switched off on this refbin")
    assert await refbin.service.guild_settings(refbin.guild.id) == GuildSettings(refbin.guild.id)


async def test_the_bot_asks_for_message_content_only_with_auto_paste(
    refbin: RefbinDiscord, auto_refbin: RefbinDiscord
) -> None:
    [plain] = refbin.api.sessions
    [reading] = auto_refbin.api.sessions

    assert plain.intents == 1  # GUILDS only
    assert reading.intents & MESSAGE_CONTENT
    assert "cogs.autopaste" not in refbin.bot.extensions
    assert "cogs.autopaste" in auto_refbin.bot.extensions


async def test_auto_paste_answers_long_code_blocks_in_chosen_channels(
    auto_refbin: RefbinDiscord,
) -> None:
    refbin = auto_refbin
    code = refbin.guild.channel("code")
    await refbin.command(
        "settings auto-paste",
        user=refbin.owner,
        options={"channel": code, "enabled": True, "min_lines": 20},
    )

    await refbin.api.send_message(refbin.general, refbin.alice, LONG_CODE)  # not chosen
    await refbin.api.send_message(code, refbin.alice, "```\nshort\n```")  # too short
    posted = await refbin.api.send_message(code, refbin.alice, f"@everyone look:\n{LONG_CODE}")
    reply = await refbin.api.wait_for_request("POST", f"/channels/{code.id}/messages")

    assert str(reply.json["message_reference"]["message_id"]) == posted["id"]
    assert reply.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    [embed] = reply.json["embeds"]
    item = await refbin.service.get(id_of(embed["url"]))
    assert (item.kind, item.language, item.line_count) == ("text", "python", 40)
    alice_owner = await refbin.service.owner_for_discord_user(refbin.alice.id, "alice")
    assert item.owner_id == alice_owner
    assert "components" not in reply.json or not reply.json["components"]
    posts = refbin.api.find_requests("POST", "/channels/{id}/messages")
    assert len(posts) == 1  # nothing for the other two messages


async def test_auto_paste_removes_the_original_only_for_its_author(
    auto_refbin: RefbinDiscord,
) -> None:
    refbin = auto_refbin
    await refbin.command(
        "settings auto-paste",
        user=refbin.owner,
        options={"channel": refbin.general, "enabled": True, "offer_removal": True},
    )
    posted = await refbin.api.send_message(refbin.general, refbin.alice, LONG_CODE)
    reply = await refbin.api.wait_for_request("POST", f"/channels/{refbin.general.id}/messages")
    bot_message = refbin.api.message(reply.response["id"])

    not_yours = await refbin.answer_to(
        await refbin.api.click_button(bot_message, user=refbin.bob, label="Remove my original")
    )
    assert not_yours.ephemeral and not_yours.content == "Only the author can remove their message."
    assert refbin.api.world.messages.get(int(posted["id"])) is not None

    removed = await refbin.answer_to(
        await refbin.api.click_button(bot_message, user=refbin.alice, label="Remove my original")
    )
    assert removed.type == 6 and removed.data["components"] == []
    assert refbin.api.world.messages.get(int(posted["id"])) is None


async def test_auto_paste_is_off_until_a_server_chooses_channels(
    auto_refbin: RefbinDiscord,
) -> None:
    refbin = auto_refbin
    await refbin.api.send_message(refbin.general, refbin.alice, LONG_CODE)
    await refbin.api.sync()

    assert not refbin.api.find_requests("POST", "/channels/{id}/messages")
