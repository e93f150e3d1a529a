"""The stand-in's guild membership: the bot added to a server while running, leaving, kicked."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(command_prefix=[], intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def home(discord_api: DiscordStandin, alice: User) -> Guild:
    return discord_api.create_guild("Home", members=[alice])


async def test_the_bot_added_to_a_server_while_running_gets_on_guild_join(
    discord_api: DiscordStandin, home: Guild, alice: User
) -> None:
    stranger = discord_api.create_guild("Stranger", members=[alice], joined=False)
    bot = make_bot()
    joined: asyncio.Queue[discord.Guild] = asyncio.Queue()

    @bot.listen()
    async def on_guild_join(guild: discord.Guild) -> None:
        await joined.put(guild)

    async with discord_api.running(bot, wait_ready=True):  # joins before on_ready are not joins
        ready = discord_api.sessions[0].history[0]
        assert bot.get_guild(stranger.id) is None
        with pytest.raises(discord.Forbidden) as before:
            await bot.fetch_channel(stranger.channel("general").id)
        delivered = await discord_api.add_bot_to(stranger)
        guild = await asyncio.wait_for(joined.get(), 5)

    assert ready["t"] == "READY"
    assert ready["d"]["guilds"] == [{"id": str(home.id), "unavailable": True}]
    assert before.value.code == 50001  # Missing Access: not the bot's server yet
    assert delivered == 1
    assert guild.id == stranger.id and guild.name == "Stranger"
    assert guild.me is not None and guild.me.id == discord_api.bot_user.id
    assert discord_api.bot_in(stranger)


async def test_the_bot_leaving_is_recorded_and_followed_by_guild_delete(
    discord_api: DiscordStandin, home: Guild, alice: User
) -> None:
    other = discord_api.create_guild("Other", members=[alice])
    bot = make_bot()
    removed: asyncio.Queue[discord.Guild] = asyncio.Queue()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_guild_remove(guild: discord.Guild) -> None:
        await removed.put(guild)

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    async with discord_api.running(bot):
        cached = bot.get_guild(other.id)
        assert cached is not None
        await cached.leave()
        gone = await asyncio.wait_for(removed.get(), 5)
        await discord_api.send_message(other.channel("general"), alice, "anyone?")
        await discord_api.sync()
        heard = seen.qsize()
        with pytest.raises(discord.NotFound) as again:
            await bot.http.leave_guild(other.id)
        await discord_api.remove_bot_from(home)  # an admin kicks it from the other one
        kicked = await asyncio.wait_for(removed.get(), 5)
        left_over = list(bot.guilds)

    [leave, *_] = discord_api.find_requests("DELETE", "/users/@me/guilds/{guild_id}")
    assert (leave.path, leave.status) == (f"/users/@me/guilds/{other.id}", 204)
    assert gone.id == other.id and not discord_api.bot_in(other)
    assert heard == 0  # nothing from a server the bot has left
    assert again.value.code == 10004  # Unknown Guild
    assert kicked.id == home.id and left_over == []


async def test_guild_events_go_to_the_shard_of_their_guild() -> None:
    async with DiscordStandin(shard_count=2) as discord_api:
        guilds: list[Guild] = []
        while len({shard_of(g) for g in guilds}) < 2:  # ids minted a millisecond apart
            guilds.append(discord_api.create_guild(f"g{len(guilds)}", joined=False))
            await asyncio.sleep(0.001)
        bot = commands.AutoShardedBot(
            command_prefix=[],
            intents=discord.Intents.default(),
            shard_count=2,
            shard_ids=[0],  # this process runs shard 0 only
            guild_ready_timeout=0.05,
        )
        async with discord_api.running(bot):
            for guild in guilds:
                await discord_api.add_bot_to(guild)
            await discord_api.sync()
            cached = {g.id for g in bot.guilds}

    assert cached == {g.id for g in guilds if shard_of(g) == 0}


def shard_of(guild: Guild) -> int:
    return (guild.id >> 22) % 2
