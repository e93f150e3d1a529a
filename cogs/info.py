"""/info: what an item is, and its visits for its owner."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify, item_id
from bot.discord.render import info_embed
from bot.discord.tree import answer, defer
from bot.service.policy import shown_to


class Info(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    @app_commands.command(description="What an item is: kind, size or target, expiry, views")
    @app_commands.rename(content_id="id")
    @app_commands.describe(content_id="The item's id or short link")
    async def info(
        self, interaction: discord.Interaction, content_id: app_commands.Range[str, 1, 200]
    ) -> None:
        service = self.bot.service
        check_rate(service, interaction.user, "read")
        await defer(interaction, ephemeral=True)
        item = await service.get(item_id(content_id))
        caller = await identify(service, interaction.user)
        stats = None
        if item.owner_id == caller.owner_id:
            stats = await service.stats(item.content_id, owner_id=caller.owner_id)
        url = service.url_for(item.content_id)
        shown = shown_to(item, caller.owner_id)  # what anyone but its owner may see of it
        await answer(interaction, embed=info_embed(shown, url, stats), ephemeral=True)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Info(bot))
