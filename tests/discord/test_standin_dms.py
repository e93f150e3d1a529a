"""The stand-in's direct messages: users writing to the bot, commands in DMs, the bot's DMs."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`


def make_bot(*, message_content: bool = False) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = message_content
    return commands.Bot(command_prefix=[], intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    return discord_api.create_guild("Home", members=[alice])


async def test_a_users_dm_reaches_the_bot_and_its_reply_reaches_the_user(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(message_content=False)  # DMs keep their content without the intent
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await seen.put(message)
            await message.channel.send(f"got {len(message.content)} characters")

    dm = discord_api.dm_channel(alice)
    async with discord_api.running(bot):
        posted = await discord_api.send_message(dm, alice, "```py\nprint(1)\n```")
        message = await asyncio.wait_for(seen.get(), 5)
        reply = await discord_api.wait_for_dm(alice)

    assert "guild_id" not in posted
    assert message.guild is None and isinstance(message.channel, discord.DMChannel)
    assert message.channel.id == dm.id and message.author.id == alice.id
    assert message.content == "```py\nprint(1)\n```"
    assert reply["content"] == "got 18 characters"
    assert [m["content"] for m in discord_api.dms_to(alice)] == ["got 18 characters"]


async def test_a_slash_command_in_dms_has_a_user_and_no_guild(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Where am I?")
    async def where(interaction: discord.Interaction) -> None:
        kind = type(interaction.user).__name__
        place = "a DM" if interaction.guild is None else interaction.guild.name
        await interaction.response.send_message(f"{kind} {interaction.user.name} in {place}")

    @bot.tree.command(description="Server only")
    @app_commands.guild_only()
    async def settings(interaction: discord.Interaction) -> None: ...

    dm = discord_api.dm_channel(alice)
    async with discord_api.running(bot):
        await bot.tree.sync()  # global commands, the only ones Discord offers in DMs
        command = await discord_api.slash_command("where", user=alice, channel=dm)
        callback = await discord_api.wait_for_callback(command)

    assert "guild_id" not in command and "member" not in command
    assert command["user"]["id"] == str(alice.id) and command["context"] == 1
    assert callback.data["content"] == "User alice in a DM"
    assert callback.message is not None and callback.message["channel_id"] == str(dm.id)
    with pytest.raises(PermissionError, match="DMs"):
        discord_api.payloads.slash_command("settings", user=alice, channel=dm)


async def test_the_bot_opens_a_dm_and_the_user_receives_it(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    async with discord_api.running(bot):
        user = await bot.fetch_user(alice.id)
        await user.send("your item expires tomorrow")
        await user.send("and another one")
        first = await discord_api.wait_for_dm(alice)
        second = await discord_api.wait_for_dm(
            alice, predicate=lambda m: m["content"].startswith("and")
        )

    opened = discord_api.find_requests("POST", "/users/@me/channels")
    assert opened[0].json == {"recipient_id": alice.id}
    assert opened[0].response["id"] == str(discord_api.dm_channel(alice).id)
    assert (first["content"], second["content"]) == (
        "your item expires tomorrow",
        "and another one",
    )
    assert len(discord_api.dms_to(alice)) == 2
