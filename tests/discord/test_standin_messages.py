"""The stand-in's users' messages: attachments on a slow or failing CDN, edits and deletes."""

from __future__ import annotations

import asyncio
import time

import discord
import pytest
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.cdn import NO_CONTENT_TYPE
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`

LONG_CODE = "".join(f"print({n})  # line {n}\n" for n in range(400))  # ~9,000 characters


def make_bot(*, max_messages: int | None = 1000) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(
        command_prefix=[], intents=intents, guild_ready_timeout=0.05, max_messages=max_messages
    )


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    guild = discord_api.create_guild("Code", channels=("general",), members=[alice])
    guild.add_forum("help")
    return guild


def collect(bot: commands.Bot) -> asyncio.Queue[discord.Message]:
    """Users' messages as the bot receives them."""
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await seen.put(message)

    return seen


async def test_a_long_paste_arrives_as_message_txt_read_through_discord_py(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen = collect(bot)

    async with discord_api.running(bot):
        thread, _ = await discord_api.create_forum_post(guild.channel("help"), alice, "slow", "?")
        await discord_api.send_long_message(thread, alice, LONG_CODE)
        message = await asyncio.wait_for(seen.get(), 5)  # the starter message
        message = await asyncio.wait_for(seen.get(), 5)
        [attachment] = message.attachments
        data = await attachment.read()

    assert message.content == "" and isinstance(message.channel, discord.Thread)
    assert attachment.filename == "message.txt"
    assert attachment.content_type == "text/plain; charset=utf-8"
    assert attachment.size == len(LONG_CODE.encode()) and data == LONG_CODE.encode()
    [download] = discord_api.find_requests("GET", f"/attachments/{thread.id}/{attachment.id}/{{f}}")
    assert download.status == 200
    with pytest.raises(ValueError, match="message.txt"):
        await discord_api.send_message(thread, alice, LONG_CODE)


async def test_attachment_content_types_as_discord_gives_them(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen = collect(bot)
    general = guild.channel("general")
    script = discord_api.add_attachment("tool.py", b"import os\n", channel=general)
    binary = discord_api.add_attachment("blob.txt", b"\xff\xfe\x00", channel=general)
    untyped = discord_api.add_attachment(
        "notes.log", b"ok\n", channel=general, content_type=NO_CONTENT_TYPE
    )

    async with discord_api.running(bot):
        await discord_api.send_message(general, alice, attachments=[script, binary, untyped])
        message = await asyncio.wait_for(seen.get(), 5)

    types = [a.content_type for a in message.attachments]
    assert types == ["text/x-python; charset=utf-8", "text/plain", None]


async def test_a_slow_cdn_delays_and_trickles_the_download() -> None:
    async with DiscordStandin(cdn_chunk_size=1024) as discord_api:
        alice = discord_api.create_user("alice")
        general = discord_api.create_guild("Slow", members=[alice]).channel("general")
        bot = make_bot()
        seen = collect(bot)
        slow = discord_api.add_attachment("big.log", b"x" * 4096, channel=general)
        quick = discord_api.add_attachment("small.log", b"y", channel=general)
        discord_api.configure_cdn(slow, delay=0.5, trickle=0.05)  # 4 chunks: 0.2 s more

        async with discord_api.running(bot):
            await discord_api.send_message(general, alice, attachments=[slow, quick])
            message = await asyncio.wait_for(seen.get(), 5)
            started = time.monotonic()
            big = await message.attachments[0].read()
            slow_took = time.monotonic() - started
            started = time.monotonic()
            await message.attachments[1].read()
            quick_took = time.monotonic() - started

    assert big == b"x" * 4096
    assert slow_took >= 0.7
    assert quick_took < 0.5  # only that one attachment was slowed


@pytest.mark.parametrize(
    ("status", "error"), [(404, discord.NotFound), (500, discord.HTTPException)]
)
async def test_a_failing_cdn_raises_in_discord_py(
    discord_api: DiscordStandin,
    guild: Guild,
    alice: User,
    status: int,
    error: type[discord.HTTPException],
) -> None:
    bot = make_bot()
    seen = collect(bot)
    general = guild.channel("general")
    gone = discord_api.add_attachment("gone.txt", b"bye", channel=general)
    discord_api.configure_cdn(status=status)  # every attachment

    async with discord_api.running(bot):
        await discord_api.send_message(general, alice, attachments=[gone])
        message = await asyncio.wait_for(seen.get(), 5)
        with pytest.raises(error) as failed:
            await message.attachments[0].read()

    assert failed.value.status == status


async def test_an_edit_fires_on_message_edit_and_a_delete_on_message_delete(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen = collect(bot)
    edits: asyncio.Queue[tuple[discord.Message, discord.Message]] = asyncio.Queue()
    deletes: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
        await edits.put((before, after))

    @bot.listen()
    async def on_message_delete(message: discord.Message) -> None:
        await deletes.put(message)

    general = guild.channel("general")
    code = discord_api.add_attachment("fix.py", b"x = 1\n", channel=general)
    async with discord_api.running(bot):
        posted = await discord_api.send_message(general, alice, "def f(): pass")
        await asyncio.wait_for(seen.get(), 5)
        await discord_api.edit_message(
            posted, content="```py\ndef f():\n    return 1\n```", attachments=[code]
        )
        before, after = await asyncio.wait_for(edits.get(), 5)
        await discord_api.delete_message(posted)
        deleted = await asyncio.wait_for(deletes.get(), 5)

    assert before.content == "def f(): pass" and before.edited_at is None
    assert after.content.startswith("```py") and after.edited_at is not None
    assert [a.filename for a in after.attachments] == ["fix.py"]
    assert deleted.id == int(posted["id"])
    assert discord_api.messages_in(general) == []


async def test_an_edit_of_an_uncached_message_is_only_a_raw_edit(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(max_messages=None)
    raw: asyncio.Queue[discord.RawMessageUpdateEvent] = asyncio.Queue()

    @bot.listen()
    async def on_raw_message_edit(payload: discord.RawMessageUpdateEvent) -> None:
        await raw.put(payload)

    general = guild.channel("general")
    async with discord_api.running(bot):
        posted = await discord_api.send_message(general, alice, "typo")
        await discord_api.edit_message(posted, content="fixed")
        payload = await asyncio.wait_for(raw.get(), 5)

    assert payload.cached_message is None
    assert payload.message.content == "fixed" and payload.guild_id == guild.id


async def test_the_bot_reads_history_newest_first(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    general = guild.channel("general")
    for n in range(5):
        await discord_api.send_message(general, alice, f"message {n}")

    async with discord_api.running(bot):
        channel = bot.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        newest = [m.content async for m in channel.history(limit=3)]
        oldest = [m.content async for m in channel.history(limit=2, oldest_first=True)]

    assert newest == ["message 4", "message 3", "message 2"]
    assert oldest == ["message 0", "message 1"]
