"""The stand-in's permissions: what the bot lacks in a channel, seen by discord.py and refused
with Discord's own 403s."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord.ext import commands

from tests.discord_standin import Channel, DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`
from tests.discord_standin.permissions import (
    ATTACH_FILES,
    BOT_DEFAULT,
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)

MISSING_ACCESS, MISSING_PERMISSIONS = 50001, 50013


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(command_prefix=[], intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    return discord_api.create_guild("Locked Down", channels=("general", "code"), members=[alice])


def text_channel(bot: commands.Bot, channel: Channel) -> discord.TextChannel:
    found = bot.get_channel(channel.id)
    assert isinstance(found, discord.TextChannel)
    return found


async def test_without_send_messages_a_send_is_refused_with_50013(
    discord_api: DiscordStandin, guild: Guild
) -> None:
    bot = make_bot()
    code = guild.channel("code")

    async with discord_api.running(bot):
        channel = text_channel(bot, code)
        before = channel.permissions_for(channel.guild.me).send_messages
        await discord_api.set_permissions(code, discord_api.bot_role(guild), deny=SEND_MESSAGES)
        await discord_api.sync()
        after = channel.permissions_for(channel.guild.me)
        with pytest.raises(discord.Forbidden) as refused:
            await channel.send("hello")
        await text_channel(bot, guild.channel("general")).send("still fine here")

    assert before and not after.send_messages and after.view_channel  # CHANGE reached discord.py
    assert (refused.value.status, refused.value.code) == (403, MISSING_PERMISSIONS)
    assert refused.value.text == "Missing Permissions"
    assert discord_api.messages_in(code) == []


async def test_without_view_channel_the_bot_hears_nothing_and_gets_missing_access(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    code = guild.channel("code")
    await discord_api.set_permissions(code, guild.everyone, deny=VIEW_CHANNEL)  # a staff room
    async with discord_api.running(bot):
        await discord_api.send_message(code, alice, "secret plans")
        await discord_api.sync()
        heard = seen.qsize()
        with pytest.raises(discord.Forbidden) as sending:
            await text_channel(bot, code).send("hi")
        with pytest.raises(discord.Forbidden) as fetching:
            await bot.fetch_channel(code.id)

    assert heard == 0
    assert (sending.value.code, fetching.value.code) == (MISSING_ACCESS, MISSING_ACCESS)
    assert sending.value.text == "Missing Access"


async def test_without_read_message_history_fetches_fail_history_is_empty_replies_refused(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    code = guild.channel("code")
    posted = await discord_api.send_message(code, alice, "look at this")
    await discord_api.set_permissions(code, discord_api.bot_role(guild), deny=READ_MESSAGE_HISTORY)

    async with discord_api.running(bot):
        channel = text_channel(bot, code)
        with pytest.raises(discord.Forbidden) as fetching:
            await channel.fetch_message(int(posted["id"]))
        history = [m async for m in channel.history(limit=10)]
        with pytest.raises(discord.Forbidden) as replying:
            await channel.get_partial_message(int(posted["id"])).reply("here is your link")
        sent = await channel.send("a plain message still works")

    assert fetching.value.code == MISSING_PERMISSIONS
    assert history == []  # Discord answers an empty list, not an error
    assert replying.value.code == 160002
    assert sent.content == "a plain message still works"


async def test_deleting_someone_elses_message_needs_manage_messages(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    deleted: asyncio.Queue[int] = asyncio.Queue()

    @bot.listen()
    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        await deleted.put(payload.message_id)

    general = guild.channel("general")
    async with discord_api.running(bot):
        first = await discord_api.send_message(general, alice, "token: abc")
        channel = text_channel(bot, general)
        await discord_api.set_role_permissions(
            guild, discord_api.bot_role(guild), BOT_DEFAULT & ~MANAGE_MESSAGES
        )
        await discord_api.sync()
        may_manage = channel.guild.me.guild_permissions.manage_messages
        with pytest.raises(discord.Forbidden) as refused:
            await channel.get_partial_message(int(first["id"])).delete()
        await discord_api.set_role_permissions(guild, discord_api.bot_role(guild), BOT_DEFAULT)
        await channel.get_partial_message(int(first["id"])).delete()
        gone = await asyncio.wait_for(deleted.get(), 5)

    assert not may_manage  # GUILD_ROLE_UPDATE reached discord.py
    assert refused.value.code == MISSING_PERMISSIONS
    assert gone == int(first["id"]) and discord_api.messages_in(general) == []


async def test_threads_need_send_messages_in_threads_and_files_attach_files(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    general = guild.channel("general")
    thread = await discord_api.create_thread(general, alice, "help")
    role = discord_api.bot_role(guild)
    await discord_api.set_permissions(general, role, deny=SEND_MESSAGES_IN_THREADS | ATTACH_FILES)

    async with discord_api.running(bot):
        cached = bot.get_channel(thread.id)
        assert isinstance(cached, discord.Thread)
        in_thread = cached.permissions_for(cached.guild.me)
        with pytest.raises(discord.Forbidden) as in_the_thread:
            await cached.send("hi")
        with pytest.raises(discord.Forbidden) as with_a_file:
            await text_channel(bot, general).send(file=discord.File(io.BytesIO(b"x"), "x.txt"))
        await text_channel(bot, general).send("text alone is fine")

    assert not in_thread.send_messages_in_threads
    assert in_the_thread.value.code == MISSING_PERMISSIONS
    assert with_a_file.value.code == MISSING_PERMISSIONS


async def test_interactions_tell_the_bot_its_permissions_in_the_channel(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Check")
    async def check(interaction: discord.Interaction) -> None:
        can = interaction.app_permissions
        await interaction.response.send_message(f"send={can.send_messages} view={can.view_channel}")

    code = guild.channel("code")
    await discord_api.set_permissions(code, discord_api.bot_role(guild), deny=SEND_MESSAGES)
    async with discord_api.running(bot):
        bot.tree.copy_global_to(guild=discord.Object(guild.id))
        await bot.tree.sync(guild=discord.Object(guild.id))
        command = await discord_api.slash_command("check", user=alice, channel=code)
        callback = await discord_api.wait_for_callback(command)

    # interaction responses go through the webhook, so they work where sending does not
    assert callback.data["content"] == "send=False view=True"
