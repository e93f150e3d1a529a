"""The Discord stand-in, driven by real discord.py bots defined in each test."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import zlib
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`

EPHEMERAL, LOADING = 1 << 6, 1 << 7


def make_bot(*, members: bool = False, message_content: bool = False) -> commands.Bot:
    intents = discord.Intents.default()
    intents.members = members
    intents.message_content = message_content
    # a short guild_ready_timeout keeps on_ready quick; nothing below depends on it otherwise
    return commands.Bot(
        command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.05
    )


async def sync_to(bot: commands.Bot, guild: Guild) -> list[app_commands.AppCommand]:
    target = discord.Object(guild.id)
    bot.tree.copy_global_to(guild=target)
    return await bot.tree.sync(guild=target)


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    return discord_api.create_guild("Refbin Test", channels=("general", "uploads"), members=[alice])


class GatewayReader:
    """Reads gateway payloads off a raw websocket, inflating zlib-stream when asked to."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, compressed: bool) -> None:
        self.ws = ws
        self.compressed = compressed
        self.inflater = zlib.decompressobj()
        self.frame_counts: list[int] = []

    async def next(self) -> dict[str, Any]:
        buffer, frames = b"", 0
        while True:
            message = await self.ws.receive(timeout=5)
            frames += 1
            if not self.compressed:
                assert message.type is aiohttp.WSMsgType.TEXT
                self.frame_counts.append(frames)
                return json.loads(message.data)
            assert message.type is aiohttp.WSMsgType.BINARY
            buffer += message.data
            if buffer.endswith(b"\x00\x00\xff\xff"):
                self.frame_counts.append(frames)
                return json.loads(self.inflater.decompress(buffer))


@pytest.mark.parametrize(
    ("compress", "frame_size"), [(None, None), ("zlib-stream", None), ("zlib-stream", 64)]
)
async def test_gateway_speaks_discords_protocol_to_a_raw_client(
    compress: str | None, frame_size: int | None
) -> None:
    async with DiscordStandin(frame_size=frame_size) as discord_api:
        guild = discord_api.create_guild("Raw")
        query = {"v": "10", "encoding": "json"} | ({"compress": compress} if compress else {})
        url = yarl.URL(discord_api.gateway_url).with_query(query)
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            reader = GatewayReader(ws, compressed=compress is not None)
            hello = await reader.next()
            identify = {"token": discord_api.token, "intents": 1 | 512, "properties": {}}
            await ws.send_json({"op": 2, "d": identify})
            ready = await reader.next()
            guild_create = await reader.next()
            await ws.send_json({"op": 1, "d": guild_create["s"]})
            ack = await reader.next()

    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41_250
    assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
    assert ready["d"]["user"]["id"] == str(discord_api.bot_user.id)
    assert ready["d"]["guilds"] == [{"id": str(guild.id), "unavailable": True}]
    assert ready["d"]["application"]["id"] == str(discord_api.application_id)
    assert ready["d"]["resume_gateway_url"] == discord_api.gateway_url
    assert (guild_create["t"], guild_create["s"]) == ("GUILD_CREATE", 2)
    assert guild_create["d"]["id"] == str(guild.id)
    assert ack == {"op": 11}
    if frame_size:
        assert max(reader.frame_counts) > 1  # big payloads really were split over frames


async def test_bot_connects_and_caches_guilds_from_guild_create(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(members=True)

    async with discord_api.running(bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        chunk = await cached.chunk()  # REQUEST_GUILD_MEMBERS (op 8) -> GUILD_MEMBERS_CHUNK

    assert cached.name == "Refbin Test"
    assert [c.name for c in cached.text_channels] == ["general", "uploads"]
    assert cached.me.id == discord_api.bot_user.id
    assert cached.me.guild_permissions.manage_messages
    assert alice.id in {m.id for m in chunk}
    [session] = discord_api.sessions
    assert session.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert session.identify["token"] == discord_api.token
    assert session.intents == bot.intents.value


async def test_bot_connects_through_zlib_frames_split_like_discord_may() -> None:
    async with DiscordStandin(frame_size=32) as discord_api:
        guild = discord_api.create_guild("Split", channels=("a", "b", "c"))
        bot = make_bot()
        async with discord_api.running(bot, wait_ready=True):
            cached = bot.get_guild(guild.id)
            assert bot.is_ready()

    assert cached is not None and [c.name for c in cached.text_channels] == ["a", "b", "c"]


async def test_without_members_intent_guild_create_lists_only_the_bot(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(members=False)

    async with discord_api.running(bot):
        cached = bot.get_guild(guild.id)

    assert cached is not None and cached.get_member(alice.id) is None
    assert [m.id for m in cached.members] == [discord_api.bot_user.id]


async def test_wrong_token_is_refused_at_login(discord_api: DiscordStandin) -> None:
    bot = make_bot()

    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()

    [attempt] = discord_api.find_requests("GET", "/users/@me")
    assert attempt.status == 401


async def test_privileged_intent_not_enabled_closes_with_4014() -> None:
    async with DiscordStandin(privileged_intents=0) as discord_api:
        bot = make_bot(message_content=True)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with discord_api.running(bot):
                pass


async def test_tree_sync_to_a_guild_is_recorded(discord_api: DiscordStandin, guild: Guild) -> None:
    bot = make_bot()

    @bot.tree.command(description="Shorten a link")
    async def shorten(
        interaction: discord.Interaction, url: str, days: app_commands.Range[int, 1, 30] = 7
    ) -> None: ...

    files = app_commands.Group(name="bin", description="The content bin")

    @files.command(description="Upload a file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None: ...

    bot.tree.add_command(files)

    @bot.tree.context_menu(name="Save to bin")
    async def save(interaction: discord.Interaction, message: discord.Message) -> None: ...

    async with discord_api.running(bot):
        synced = await sync_to(bot, guild)

    path = f"/applications/{discord_api.application_id}/guilds/{guild.id}/commands"
    [put] = discord_api.find_requests("PUT", path)
    assert sorted(c["name"] for c in put.json) == ["Save to bin", "bin", "shorten"]
    stored = {c["name"]: c for c in discord_api.commands(guild)}
    assert {c.id for c in synced} == {int(c["id"]) for c in stored.values()}
    days = stored["shorten"]["options"][1]
    assert (days["name"], days["type"], days["min_value"], days["max_value"]) == ("days", 4, 1, 30)
    assert stored["bin"]["options"][0]["options"][0]["type"] == 11  # attachment option
    assert stored["Save to bin"]["type"] == 3
    assert discord_api.commands() == []  # nothing was synced globally


async def test_invalid_command_name_is_rejected_at_sync(
    discord_api: DiscordStandin, guild: Guild
) -> None:
    bot = make_bot()
    payload = [{"name": "Shout", "description": "upper-case names are refused", "type": 1}]

    async with discord_api.running(bot):
        with pytest.raises(discord.HTTPException) as refused:
            await bot.http.bulk_upsert_guild_commands(discord_api.application_id, guild.id, payload)

    assert refused.value.status == 400 and refused.value.code == 50035


async def test_slash_command_reply_is_recorded(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bob = discord_api.create_user("bob")
    guild.add_member(bob)
    bot = make_bot()

    @bot.tree.command(description="Greet someone")
    async def greet(interaction: discord.Interaction, who: discord.Member, times: int = 1) -> None:
        where = interaction.channel.name if interaction.channel else "?"
        await interaction.response.send_message(
            f"{interaction.user.name} greets {who.display_name} x{times} in #{where}"
        )

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        interaction = await discord_api.slash_command(
            "greet", user=alice, channel=guild.channel("general"), options={"who": bob, "times": 3}
        )
        callback = await discord_api.wait_for_callback(interaction)

    assert callback.type == 4
    assert callback.data["content"] == "alice greets Bob x3 in #general"
    assert callback.message is not None
    stored = discord_api.message(callback.message["id"])
    assert stored["type"] == 20  # CHAT_INPUT_COMMAND reply
    assert stored["interaction_metadata"]["user"]["id"] == str(alice.id)


async def test_attachment_option_is_downloaded_from_the_cdn(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    files = app_commands.Group(name="bin", description="The content bin")

    @files.command(description="Upload a file")
    async def upload(
        interaction: discord.Interaction, file: discord.Attachment, note: str | None = None
    ) -> None:
        data = await file.read()
        digest = hashlib.sha256(data).hexdigest()
        await interaction.response.send_message(f"{file.filename} {len(data)} {digest} {note}")

    bot.tree.add_command(files)
    data = bytes(range(256)) * 1200  # several CDN chunks
    attachment = discord_api.add_attachment("notes.txt", data)

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        interaction = await discord_api.slash_command(
            "bin upload",
            user=alice,
            channel=guild.channel("uploads"),
            options={"file": attachment, "note": "hi"},
        )
        callback = await discord_api.wait_for_callback(interaction)

    assert interaction["data"]["options"][0]["type"] == 1  # the subcommand wraps the options
    digest = hashlib.sha256(data).hexdigest()
    assert callback.data["content"] == f"notes.txt {len(data)} {digest} hi"
    [download] = discord_api.find_requests("GET", re.compile(r"/ephemeral-attachments/.+"))
    assert download.status == 200


async def test_modal_flow_opens_and_submits(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    class PasteModal(discord.ui.Modal, title="New paste"):
        content = discord.ui.TextInput(label="Content", style=discord.TextStyle.long)
        name = discord.ui.Label(text="Name", component=discord.ui.TextInput(required=False))

        async def on_submit(self, interaction: discord.Interaction) -> None:
            assert isinstance(self.name.component, discord.ui.TextInput)
            await interaction.response.send_message(
                f"{self.name.component.value or 'untitled'}: {len(self.content.value)} chars",
                ephemeral=True,
            )

    @bot.tree.command(description="Paste text")
    async def paste(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PasteModal())

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.slash_command("paste", user=alice, channel=guild.channels[0])
        modal = await discord_api.wait_for_callback(command)
        submit = await discord_api.submit_modal(modal, {"Content": "print('hi')", "Name": "hi.py"})
        answer = await discord_api.wait_for_callback(submit)

    assert modal.type == 9 and modal.data["title"] == "New paste"
    assert submit["type"] == 5 and submit["data"]["custom_id"] == modal.data["custom_id"]
    assert answer.type == 4
    assert answer.data["content"] == "hi.py: 11 chars"
    assert answer.data["flags"] & EPHEMERAL


async def test_button_click_updates_the_message(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    class DeleteView(discord.ui.View):
        @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger)
        async def delete(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            await interaction.response.edit_message(
                content=f"deleted by {interaction.user.name}", view=None
            )

    @bot.tree.command(description="Save a link")
    async def save(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("saved as abc123", view=DeleteView())

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.slash_command("save", user=alice, channel=guild.channels[0])
        reply = await discord_api.wait_for_callback(command)
        assert reply.message is not None
        click = await discord_api.click_button(reply.message, user=alice, label="Delete")
        update = await discord_api.wait_for_callback(click)

    assert click["data"]["component_type"] == 2
    assert update.type == 7
    assert update.data["content"] == "deleted by alice" and update.data["components"] == []
    assert discord_api.message(reply.message["id"])["content"] == "deleted by alice"


async def test_select_menu_choice_reaches_the_view(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    class ExpiryView(discord.ui.View):
        @discord.ui.select(
            custom_id="expiry",
            options=[discord.SelectOption(label=f"{d} days", value=str(d)) for d in (1, 7, 30)],
        )
        async def expiry(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
            await interaction.response.send_message(f"expires in {select.values[0]} days")

    @bot.tree.command(description="Set expiry")
    async def expire(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pick one", view=ExpiryView())

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.slash_command("expire", user=alice, channel=guild.channels[0])
        reply = await discord_api.wait_for_callback(command)
        assert reply.message is not None
        with pytest.raises(ValueError, match="offers"):
            discord_api.payloads.select_menu(
                reply.message, user=alice, custom_id="expiry", values=["365"]
            )
        pick = await discord_api.choose(reply.message, user=alice, custom_id="expiry", values=["7"])
        answer = await discord_api.wait_for_callback(pick)

    assert answer.type == 4 and answer.data["content"] == "expires in 7 days"


async def test_autocomplete_is_answered_with_choices(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    languages = ["python", "pycon", "rust"]

    async def language_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in languages if n.startswith(current)]

    @bot.tree.command(description="Paste code")
    @app_commands.autocomplete(language=language_choices)
    async def code(interaction: discord.Interaction, text: str, language: str) -> None: ...

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        typing = await discord_api.autocomplete(
            "code",
            user=alice,
            channel=guild.channels[0],
            focused="language",
            options={"language": "py"},
        )
        answer = await discord_api.wait_for_callback(typing)

    assert typing["type"] == 4 and typing["data"]["options"][0]["focused"] is True
    assert answer.type == 8
    assert [c["value"] for c in answer.data["choices"]] == ["python", "pycon"]


async def test_user_context_menu_resolves_the_member(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bob = discord_api.create_user("bob")
    guild.add_member(bob, nick="Bobby")
    bot = make_bot()

    @bot.tree.context_menu(name="Uploads by user")
    async def uploads(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"uploads by {member.display_name}")

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.user_command(
            "Uploads by user", user=alice, target=bob, channel=guild.channels[0]
        )
        callback = await discord_api.wait_for_callback(command)

    assert callback.data["content"] == "uploads by Bobby"


async def test_followups_after_defer_fill_the_loader_then_add_messages(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Slow work")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("first")
        await interaction.followup.send("second")

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.slash_command("slow", user=alice, channel=guild.channels[0])
        deferral = await discord_api.wait_for_callback(command)
        first = await discord_api.wait_for_followup(command)
        second = await discord_api.wait_for_request(
            "POST",
            f"/webhooks/{discord_api.application_id}/{command['token']}",
            predicate=lambda r: (r.json or {}).get("content") == "second",
        )

    assert deferral.type == 5 and deferral.message is not None
    assert first.json["content"] == "first"
    assert first.response["id"] == deferral.message["id"]  # the loading message was filled
    original = discord_api.message(deferral.message["id"])
    assert original["content"] == "first" and not original["flags"] & LOADING
    assert second.response["id"] != original["id"]


async def test_edit_original_response_after_ephemeral_defer(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Later")
    async def later(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content="ready")
        original = await interaction.original_response()
        await interaction.followup.send(f"original says {original.content}", ephemeral=True)

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        command = await discord_api.slash_command("later", user=alice, channel=guild.channels[0])
        deferral = await discord_api.wait_for_callback(command)
        edit = await discord_api.wait_for_original_edit(command)
        followup = await discord_api.wait_for_followup(command)

    assert deferral.type == 5 and deferral.data["flags"] == EPHEMERAL
    assert edit.json["content"] == "ready" and edit.status == 200
    assert edit.response["flags"] == EPHEMERAL  # loading cleared, still ephemeral
    assert followup.json["content"] == "original says ready"


async def test_message_context_menu_gets_the_target_message(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.context_menu(name="Save to bin")
    async def save(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"saved {message.author.name}: {message.content}")

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        posted = await discord_api.send_message(guild.channels[0], alice, "remember this")
        command = await discord_api.message_command("Save to bin", user=alice, message=posted)
        callback = await discord_api.wait_for_callback(command)

    assert command["data"]["type"] == 3 and command["data"]["target_id"] == posted["id"]
    assert callback.data["content"] == "saved alice: remember this"
    assert discord_api.message(callback.message["id"])["type"] == 23  # CONTEXT_MENU_COMMAND


async def test_message_attachment_is_downloaded_and_answered(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(message_content=True)

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        for attachment in message.attachments:
            data = await attachment.read()
            digest = hashlib.sha256(data).hexdigest()
            await message.channel.send(f"{attachment.filename}: {len(data)} bytes {digest}")

    channel = guild.channel("uploads")
    data = b"\x89PNG\r\n\x1a\n" + bytes(200_000)
    photo = discord_api.add_attachment("photo.png", data, channel=channel, width=4, height=4)

    async with discord_api.running(bot):
        await discord_api.send_message(channel, alice, "here", attachments=[photo])
        reply = await discord_api.wait_for_request("POST", f"/channels/{channel.id}/messages")

    digest = hashlib.sha256(data).hexdigest()
    assert reply.json["content"] == f"photo.png: {len(data)} bytes {digest}"
    cdn_path = f"/attachments/{channel.id}/{photo['id']}/photo.png"
    [download] = discord_api.find_requests("GET", cdn_path)
    assert download.status == 200
    assert photo["content_type"] == "image/png"


async def test_message_content_is_withheld_without_the_intent(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot(message_content=False)
    seen: asyncio.Queue[str] = asyncio.Queue()

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await seen.put(message.content)

    async with discord_api.running(bot):
        await discord_api.send_message(guild.channels[0], alice, "https://example.com")
        hidden = await asyncio.wait_for(seen.get(), 5)
        mention = f"{discord_api.bot_user.mention} https://example.com"
        await discord_api.send_message(guild.channels[0], alice, mention)
        shown = await asyncio.wait_for(seen.get(), 5)

    assert hidden == ""
    assert shown == mention


async def test_dm_is_sent_and_closed_dms_are_refused(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    carol = discord_api.create_user("carol")
    carol.dms_open = False
    guild.add_member(carol)
    bot = make_bot()

    @bot.tree.command(description="DM me my delete token")
    async def token(interaction: discord.Interaction) -> None:
        try:
            await interaction.user.send("your delete token: t0k3n")
        except discord.Forbidden:
            await interaction.response.send_message("I cannot DM you", ephemeral=True)
        else:
            await interaction.response.send_message("sent you a DM", ephemeral=True)

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        for_alice = await discord_api.slash_command("token", user=alice, channel=guild.channels[0])
        alice_answer = await discord_api.wait_for_callback(for_alice)
        for_carol = await discord_api.slash_command("token", user=carol, channel=guild.channels[0])
        carol_answer = await discord_api.wait_for_callback(for_carol)

    dm = discord_api.dm_channel(alice)
    [opened, *_] = discord_api.find_requests("POST", "/users/@me/channels")
    assert opened.json == {"recipient_id": alice.id}
    [sent] = discord_api.find_requests("POST", f"/channels/{dm.id}/messages")
    assert sent.json["content"] == "your delete token: t0k3n" and sent.status == 200
    assert alice_answer.data["content"] == "sent you a DM"
    assert carol_answer.data["content"] == "I cannot DM you"


async def test_rate_limited_channel_message_is_retried_after_retry_after(
    discord_api: DiscordStandin, guild: Guild
) -> None:
    bot = make_bot()
    general = guild.channel("general")
    path = f"/channels/{general.id}/messages"

    async with discord_api.running(bot):
        discord_api.rate_limit("POST", "/channels/{channel_id}/messages", retry_after=0.25)
        channel = bot.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("hello")

    limited, accepted = discord_api.find_requests("POST", path)
    assert (limited.status, accepted.status) == (429, 200)
    assert limited.response == {
        "message": "You are being rate limited.",
        "retry_after": 0.25,
        "global": False,
    }
    assert accepted.at - limited.at >= 0.25
    assert sent.id == int(accepted.response["id"]) and sent.content == "hello"


async def test_rate_limited_interaction_callback_is_retried(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()

    @bot.tree.command(description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        discord_api.rate_limit("POST", "/interactions/{id}/{token}/callback", retry_after=0.2)
        command = await discord_api.slash_command("ping", user=alice, channel=guild.channels[0])
        callback = await discord_api.wait_for_callback(command)

    attempts = discord_api.find_requests("POST", "/interactions/{id}/{token}/callback")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.2
    assert callback.data["content"] == "pong"


async def test_uploaded_files_are_recorded_and_served_back(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40

    @bot.tree.command(description="QR code")
    async def qr(interaction: discord.Interaction) -> None:
        picture = discord.File(io.BytesIO(png), "qr.png", description="QR code")
        await interaction.response.send_message("scan me", file=picture)

    async with discord_api.running(bot):
        await sync_to(bot, guild)
        channel = bot.get_channel(guild.channels[0].id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("raw", file=discord.File(io.BytesIO(b"plain text"), "a.txt"))
        command = await discord_api.slash_command("qr", user=alice, channel=guild.channels[0])
        callback = await discord_api.wait_for_callback(command)
        async with aiohttp.ClientSession() as http:
            async with http.get(sent.attachments[0].url) as response:
                served = await response.read()

    [upload] = callback.request.files
    assert (upload.field, upload.filename, upload.data) == ("files[0]", "qr.png", png)
    assert callback.request.json["data"]["attachments"] == [
        {"id": 0, "filename": "qr.png", "description": "QR code"}
    ]
    assert callback.message is not None
    [attachment] = callback.message["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("qr.png", len(png))
    assert (sent.attachments[0].filename, served) == ("a.txt", b"plain text")


async def test_a_reply_after_the_three_second_window_is_refused() -> None:
    async with DiscordStandin(interaction_deadline=0.05) as discord_api:
        alice = discord_api.create_user("alice")
        guild = discord_api.create_guild("Slow", members=[alice])
        bot = make_bot()
        outcome: asyncio.Queue[int] = asyncio.Queue()

        @bot.tree.command(description="Too slow")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.1)  # the handler's slow work, past the (shortened) window
            try:
                await interaction.response.send_message("late")
            except discord.NotFound as error:
                await outcome.put(error.code)

        async with discord_api.running(bot):
            await sync_to(bot, guild)
            await discord_api.slash_command("slow", user=alice, channel=guild.channels[0])
            code = await asyncio.wait_for(outcome.get(), 5)

    assert code == 10062  # Unknown interaction


async def test_messages_breaking_discords_limits_are_refused(
    discord_api: DiscordStandin, guild: Guild
) -> None:
    bot = make_bot()

    async with discord_api.running(bot):
        channel = bot.get_channel(guild.channels[0].id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)

    assert too_long.value.status == 400 and too_long.value.code == 50035


async def test_reconnect_request_is_followed_by_a_resume(
    discord_api: DiscordStandin, guild: Guild
) -> None:
    bot = make_bot()
    resumed = asyncio.Event()

    @bot.listen()
    async def on_resumed() -> None:
        resumed.set()

    async with discord_api.running(bot):
        [session] = discord_api.sessions
        seq_before = session.seq
        await discord_api.reconnect()
        resume = await discord_api.wait_for_gateway(6)
        await asyncio.wait_for(resumed.wait(), 5)
        late = discord_api.create_guild("Joined later")
        await discord_api.dispatch_guild_create(late)
        await discord_api.sync()
        assert bot.get_guild(late.id) is not None

    assert resume.d["session_id"] == session.id and resume.d["seq"] == seq_before
    assert len(discord_api.sessions) == 1  # resumed, not identified again
    assert [f.op for f in discord_api.gateway_frames].count(2) == 1
