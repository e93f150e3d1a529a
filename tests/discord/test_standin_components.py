"""The stand-in keeps a message's components as the bot last left them (timed-out buttons)."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from tests.discord_standin import DiscordStandin, Guild, User
from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401 - `discord_api`


def make_bot() -> commands.Bot:
    return commands.Bot(
        command_prefix=[], intents=discord.Intents.default(), guild_ready_timeout=0.05
    )


@pytest.fixture
def alice(discord_api: DiscordStandin) -> User:
    return discord_api.create_user("alice")


@pytest.fixture
def guild(discord_api: DiscordStandin, alice: User) -> Guild:
    return discord_api.create_guild("Buttons", members=[alice])


class Offer(discord.ui.View):
    """Buttons that go away when they time out, as a calm bot does."""

    def __init__(self) -> None:
        super().__init__(timeout=0.2)
        self.message: discord.Message | discord.InteractionMessage | None = None
        self.removed = asyncio.Event()

    @discord.ui.button(label="Publish")
    async def publish(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message("published")

    async def on_timeout(self) -> None:
        assert self.message is not None
        await self.message.edit(view=None)
        self.removed.set()


async def test_a_timed_out_view_on_a_channel_message_has_its_buttons_removed(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    general = guild.channel("general")

    async with discord_api.running(bot):
        channel = bot.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        view = Offer()
        view.message = await channel.send("Publish this paste?", view=view)
        offered = discord_api.components_of(discord_api.message(view.message.id))
        await asyncio.wait_for(view.removed.wait(), 5)

    edit = await discord_api.wait_for_request(
        "PATCH", f"/channels/{general.id}/messages/{view.message.id}"
    )
    assert [c["label"] for c in offered[0]["components"]] == ["Publish"]
    assert edit.json["components"] == []
    message = discord_api.message(view.message.id)
    assert discord_api.components_of(message) == []
    assert message["content"] == "Publish this paste?"  # the text stays
    with pytest.raises(LookupError):
        await discord_api.click_button(message, user=alice, label="Publish")


async def test_a_timed_out_view_on_an_interaction_response_has_its_buttons_removed(
    discord_api: DiscordStandin, guild: Guild, alice: User
) -> None:
    bot = make_bot()
    views: list[Offer] = []

    @bot.tree.command(description="Offer")
    async def offer(interaction: discord.Interaction) -> None:
        view = Offer()
        views.append(view)
        await interaction.response.send_message("Store it?", view=view)
        view.message = await interaction.original_response()

    async with discord_api.running(bot):
        bot.tree.copy_global_to(guild=discord.Object(guild.id))
        await bot.tree.sync(guild=discord.Object(guild.id))
        command = await discord_api.slash_command("offer", user=alice, channel=guild.channels[0])
        callback = await discord_api.wait_for_callback(command)
        assert callback.message is not None
        offered = discord_api.components_of(callback.message)
        await asyncio.wait_for(views[0].removed.wait(), 5)
        edit = await discord_api.wait_for_original_edit(command)

    assert offered and edit.json["components"] == []
    assert discord_api.components_of(callback.message) == []
