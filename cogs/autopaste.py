"""Auto-paste: in the channels a server chose, a message with a long code block is answered
with a paste link, and its author may have the original removed.

The only feature that reads messages: it is loaded (and the bot asks for the privileged
Message Content intent) only when discord.auto_paste is on.
"""

from __future__ import annotations

import logging
import re
import time

import discord
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import Caller, check_rate
from bot.discord.chat_parts import code_blocks
from bot.discord.render import created_embed, escape
from bot.discord.tree import update
from bot.discord.ui import lasting_view, reporting_errors
from bot.errors import RefbinError
from bot.service.guilds import GuildSettings

log = logging.getLogger(__name__)

SETTINGS_TTL = 30.0  # seconds; a change made through another process is seen this late
MAX_BLOCKS = 5


class RemoveOriginalButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"refbin:unpaste:(?P<channel>\d+):(?P<message>\d+):(?P<author>\d+)",
):
    """ "Remove my original", which only the original's author may press."""

    def __init__(self, channel_id: int, message_id: int, author_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Remove my original",
                style=discord.ButtonStyle.secondary,
                custom_id=f"refbin:unpaste:{channel_id}:{message_id}:{author_id}",
            )
        )
        self.channel_id = channel_id
        self.message_id = message_id
        self.author_id = author_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
    ) -> RemoveOriginalButton:
        return cls(int(match["channel"]), int(match["message"]), int(match["author"]))

    @reporting_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.author_id:
            await interaction.response.send_message(
                "Only the author can remove their message.", ephemeral=True
            )
            return
        await interaction.response.defer()
        channel = interaction.client.get_partial_messageable(self.channel_id)
        try:
            await channel.get_partial_message(self.message_id).delete()
        except discord.NotFound:
            pass  # removed already
        except discord.Forbidden:
            raise discord.app_commands.BotMissingPermissions(["manage_messages"]) from None
        await update(interaction, view=None)


class AutoPaste(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot
        self._settings: dict[int, tuple[float, GuildSettings]] = {}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RemoveOriginalButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RemoveOriginalButton)

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """Read through a short-lived cache: this runs for every message with a code block."""
        cached = self._settings.get(guild_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        settings = await self.bot.service.guild_settings(guild_id)
        self._settings[guild_id] = (time.monotonic() + SETTINGS_TTL, settings)
        return settings

    @commands.Cog.listener()
    async def on_refbin_guild_settings(self, settings: GuildSettings) -> None:
        self._settings[settings.guild_id] = (time.monotonic() + SETTINGS_TTL, settings)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None or "```" not in message.content:
            return
        settings = await self.guild_settings(message.guild.id)
        if not settings.auto_pastes_in(message.channel.id):
            return
        blocks = [
            b for b in code_blocks(message.content) if b.lines >= settings.auto_paste_min_lines
        ]
        if not blocks:
            return
        service = self.bot.service
        try:
            check_rate(service, message.author, "create")
            owner_id = await service.owner_for_discord_user(message.author.id, message.author.name)
            caller = Caller(message.author.id, owner_id, message.guild.id, settings)
            options = caller.item_options("text")
            embeds = []
            for block in blocks[:MAX_BLOCKS]:
                created = await service.add_paste(
                    block.text, language=block.language, options=options
                )
                if created.created:  # the same text made on purpose before keeps its reminder
                    await service.mark_auto_pasted(created.item.content_id)
                embeds.append(created_embed(created, text=block.text))
        except RefbinError as error:
            log.info("no auto-paste for message %s: %s", message.id, error.message)
            return
        view = None
        if settings.auto_paste_delete:
            view = lasting_view(
                RemoveOriginalButton(message.channel.id, message.id, message.author.id)
            )
        intro = f"{escape(message.author.display_name)}'s code, as a paste:"
        await message.reply(intro, embeds=embeds, view=view, mention_author=False)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(AutoPaste(bot))
