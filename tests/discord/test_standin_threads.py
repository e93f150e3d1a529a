"""The stand-in's forums and threads, as the real discord.py sees them."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`
from tests.discord_standin.models import FORUM_CHANNEL
from tests.discord_standin.permissions import VIEW_CHANNEL


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(command_prefix=[], intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    guild = discord_api.create_guild("Help Server", channels=("general",), members=[alice])
    support = guild.add_category("Support")
    guild.add_forum("python-help", parent=support, tags=("solved", "question"))
    return guild


async def test_a_forum_post_is_a_thread_of_the_forum_in_its_category(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()
    created: list[discord.Thread] = []

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await seen.put(message)
            await message.channel.send("looking at it")

    @bot.listen()
    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread)

    forum = guild.channel("python-help")
    async with discord_api.running(bot):
        thread, starter = await discord_api.create_forum_post(
            forum, alice, "Why is my loop slow?", "see title", tags=["question"]
        )
        message = await asyncio.wait_for(seen.get(), 5)
        reply = await discord_api.wait_for_request("POST", f"/channels/{thread.id}/messages")
        fetched = await bot.fetch_channel(thread.id)

    assert starter["id"] == str(thread.id)  # a forum post's starter message shares its id
    channel = message.channel
    assert isinstance(channel, discord.Thread)
    assert (channel.id, channel.name, channel.owner_id) == (thread.id, thread.name, alice.id)
    assert isinstance(channel.parent, discord.ForumChannel)
    assert channel.parent.id == forum.id
    assert channel.category is not None and channel.category.name == "Support"
    assert [t.name for t in channel.applied_tags] == ["question"]
    assert message.id == thread.id and message.content == "see title"
    assert [t.id for t in created] == [thread.id]
    assert reply.status == 200 and reply.response["channel_id"] == str(thread.id)
    # the bot joined by replying; fetching the thread says so
    assert isinstance(fetched, discord.Thread) and fetched.me is not None
    assert fetched.message_count == 1  # the reply; the starter message is not counted


async def test_threads_in_guild_create_are_cached_with_their_parent(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    general = guild.channel("general")
    first = await discord_api.send_message(general, alice, "a question")
    public = await discord_api.create_thread(general, alice, "from a message", message=first)
    archived = await discord_api.create_thread(general, alice, "old one")
    await discord_api.update_thread(archived, archived=True)
    bot = make_bot()

    async with discord_api.running(bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        thread = cached.get_thread(public.id)
        old = cached.get_thread(archived.id)
        parent_message = await general_channel(bot, general.id).fetch_message(first.get("id"))

    assert public.id == int(first["id"])  # a thread started from a message has its id
    assert thread is not None and thread.parent == cached.get_channel(general.id)
    assert thread.type is discord.ChannelType.public_thread
    assert old is None  # GUILD_CREATE lists only active threads
    assert parent_message.flags.has_thread
    assert parent_message.thread is not None and parent_message.thread.id == public.id


def general_channel(bot: commands.Bot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_a_private_thread_reaches_the_bot_only_once_it_is_added(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()
    joined: asyncio.Queue[discord.Thread] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    @bot.listen()
    async def on_thread_join(thread: discord.Thread) -> None:
        await joined.put(thread)

    general = guild.channel("general")
    async with discord_api.running(bot):
        secret = await discord_api.create_thread(general, alice, "secret", private=True)
        hidden = await discord_api.send_message(secret, alice, "psst")
        await discord_api.sync()
        unseen = seen.qsize()
        await discord_api.add_to_thread(secret, discord_api.bot_user)
        thread = await asyncio.wait_for(joined.get(), 5)
        await discord_api.send_message(secret, alice, "now you see it")
        message = await asyncio.wait_for(seen.get(), 5)

    assert hidden["channel_id"] == str(secret.id)
    assert unseen == 0  # no THREAD_CREATE, no MESSAGE_CREATE while the bot was not a member
    assert thread.id == secret.id and thread.is_private() and thread.me is not None
    assert isinstance(message.channel, discord.Thread) and message.content == "now you see it"


async def test_a_public_thread_without_a_message_leaves_a_notice_in_its_channel(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    general = guild.channel("general")
    async with discord_api.running(bot):
        thread = await discord_api.create_thread(general, alice, "Weekly chat")
        notice = await asyncio.wait_for(seen.get(), 5)

    assert notice.type is discord.MessageType.thread_created
    assert notice.channel.id == general.id and notice.content == "Weekly chat"
    assert notice.reference is not None and notice.reference.channel_id == thread.id


async def test_thread_updates_deletes_and_list_sync_reach_the_bot(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    events: asyncio.Queue[tuple[str, int]] = asyncio.Queue()

    @bot.listen()
    async def on_thread_update(before: discord.Thread, after: discord.Thread) -> None:
        await events.put(("update", int(after.archived)))

    @bot.listen()
    async def on_thread_delete(thread: discord.Thread) -> None:
        await events.put(("delete", thread.id))

    @bot.listen()
    async def on_thread_join(thread: discord.Thread) -> None:
        await events.put(("join", thread.id))

    forum = guild.channel("python-help")
    staff = guild.add_channel("staff")
    await discord_api.set_permissions(staff, discord_api.bot_role(guild), deny=VIEW_CHANNEL)
    async with discord_api.running(bot):
        post, _ = await discord_api.create_forum_post(forum, alice, "Fixed it", "thanks")
        await discord_api.update_thread(post, archived=True, tags=["solved"])
        archived = await asyncio.wait_for(events.get(), 5)
        other, _ = await discord_api.create_forum_post(forum, alice, "Another", "hm")
        await discord_api.delete_thread(other)
        deleted = await asyncio.wait_for(events.get(), 5)
        # a thread in a channel the bot cannot see reaches it once it may: THREAD_LIST_SYNC
        late = await discord_api.create_thread(staff, alice, "late")
        await discord_api.set_permissions(staff, discord_api.bot_role(guild))
        await discord_api.sync_threads(guild, [staff])
        synced = await asyncio.wait_for(events.get(), 5)

    assert archived == ("update", 1)
    assert post.thread is not None and post.thread.archived
    assert deleted == ("delete", other.id)
    assert discord_api.messages_in(other) == []  # a deleted thread takes its messages along
    assert synced == ("join", late.id)


async def test_the_bot_starts_forum_posts_and_threads(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    general = guild.channel("general")
    forum = guild.channel("python-help")

    async with discord_api.running(bot):
        cached_forum = bot.get_channel(forum.id)
        assert isinstance(cached_forum, discord.ForumChannel)
        question = next(t for t in cached_forum.available_tags if t.name == "question")
        post = await cached_forum.create_thread(
            name="FAQ",
            content="read this first",
            file=discord.File(io.BytesIO(b"print('hi')\n"), "example.py"),
            applied_tags=[question],
        )
        posted = await discord_api.send_message(general, alice, "let's discuss")
        message = await general_channel(bot, general.id).fetch_message(int(posted["id"]))
        thread = await message.create_thread(name="discussion")
        private = await general_channel(bot, general.id).create_thread(name="mods only")

    assert post.thread.id == post.message.id
    assert post.message.attachments[0].filename == "example.py"
    stored = guild.thread("FAQ")
    assert stored.parent_id == forum.id and stored.thread is not None
    assert stored.thread.applied_tags == [question.id]
    assert discord_api.message(post.thread.id)["content"] == "read this first"
    assert thread.id == message.id and thread.parent_id == general.id
    assert private.type is discord.ChannelType.private_thread  # discord.py's default


async def test_forum_refusals_match_discord(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    strict = guild.add_forum("strict", tags=("bug",), require_tag=True)
    bot = make_bot()

    async with discord_api.running(bot):
        forum = bot.get_channel(strict.id)
        assert isinstance(forum, discord.ForumChannel)
        with pytest.raises(discord.HTTPException) as untagged:
            await forum.create_thread(name="no tag", content="hi")
        with pytest.raises(discord.HTTPException) as into_forum:
            await bot.http.send_message(strict.id, params=_content("hi"))
        post, _ = await discord_api.create_forum_post(strict, alice, "x", "y", tags=["bug"])
        await discord_api.update_thread(post, archived=True, locked=True)
        with pytest.raises(discord.HTTPException) as locked:
            await bot.http.send_message(post.id, params=_content("reopen?"))

    assert (untagged.value.status, untagged.value.code) == (400, 40067)
    assert guild.threads == [post]  # the refused post was not kept
    assert (into_forum.value.status, into_forum.value.code) == (400, 40058)
    assert (locked.value.status, locked.value.code) == (400, 50083)
    with pytest.raises(KeyError):
        await discord_api.create_forum_post(strict, alice, "typo", "x", tags=["bgu"])


async def test_sending_in_an_archived_thread_unarchives_it(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    archived: asyncio.Queue[bool] = asyncio.Queue()

    @bot.listen()
    async def on_raw_thread_update(payload: discord.RawThreadUpdateEvent) -> None:
        await archived.put(payload.data["thread_metadata"]["archived"])

    async with discord_api.running(bot):
        post, _ = await discord_api.create_forum_post(guild.channel("python-help"), alice, "q", "?")
        await discord_api.update_thread(post, archived=True)
        first = await asyncio.wait_for(archived.get(), 5)
        await bot.http.send_message(post.id, params=_content("still there?"))
        second = await asyncio.wait_for(archived.get(), 5)

    assert (first, second) == (True, False)
    assert post.thread is not None and not post.thread.archived


def _content(text: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=text)


async def test_a_forum_made_while_running_and_a_command_used_in_its_post(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Where am I?")
    async def where(interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, discord.Thread) and channel.parent is not None
        can = interaction.app_permissions.send_messages_in_threads
        await interaction.response.send_message(f"{channel.name} in {channel.parent.name} {can}")

    async with discord_api.running(bot):
        bot.tree.copy_global_to(guild=discord.Object(guild.id))
        await bot.tree.sync(guild=discord.Object(guild.id))
        help_desk = await discord_api.create_channel(
            guild, "help-desk", type=FORUM_CHANNEL, tags=("open",)
        )
        post, _ = await discord_api.create_forum_post(help_desk, alice, "Broken build", "help")
        command = await discord_api.slash_command("where", user=alice, channel=post)
        callback = await discord_api.wait_for_callback(command)
        forum = bot.get_channel(help_desk.id)

    assert isinstance(forum, discord.ForumChannel) and [t.name for t in forum.available_tags] == [
        "open"
    ]
    assert command["channel"]["type"] == 11 and command["channel"]["parent_id"] == str(help_desk.id)
    assert callback.data["content"] == "Broken build in help-desk True"
