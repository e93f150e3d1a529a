"""/shorten: a short link for a URL, with its QR code a button away."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import qr
from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify, parse_expiry
from bot.discord.render import created_embed
from bot.discord.tree import answer, defer
from bot.discord.ui import ItemButton, lasting_view
from bot.service import MAX_VIEWS_LIMIT, ContentService
from bot.service.links import MAX_LINK_LENGTH


class QRButton(ItemButton, action="qr", label="QR code"):
    """ "QR code" under a short link."""

    async def pressed(self, interaction: discord.Interaction, service: ContentService) -> None:
        check_rate(service, interaction.user, "read")
        await defer(interaction, ephemeral=True)
        item = await service.get(self.content_id)
        url = service.url_for(item.content_id)
        picture = discord.File(io.BytesIO(qr.qr_code(url, "png")), f"{item.content_id}-qr.png")
        await answer(interaction, content=url, file=picture, ephemeral=True)


class Shorten(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QRButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(QRButton)

    @app_commands.command(description="Shorten a link")
    @app_commands.describe(
        url="The http(s) link to shorten",
        alias="A custom short name instead of a generated id",
        expires="When it stops working, e.g. 1h, 7d, 2w (default: the server's choice)",
        max_views="Gone after this many visits",
        private="A long, unguessable id, shown only to you",
    )
    async def shorten(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, MAX_LINK_LENGTH],
        alias: app_commands.Range[str, 1, 64] | None = None,
        expires: str | None = None,
        max_views: app_commands.Range[int, 1, MAX_VIEWS_LIMIT] | None = None,
        private: bool = False,
    ) -> None:
        service = self.bot.service
        expires_in = parse_expiry(expires)
        check_rate(service, interaction.user, "create")
        await defer(interaction, ephemeral=private)
        caller = await identify(service, interaction.user, interaction.guild_id, with_guild=True)
        options = caller.item_options(
            "url", expires_in=expires_in, private=private, max_views=max_views
        )
        created = await service.add_link(url, alias=alias, options=options)
        view = lasting_view(QRButton(created.item.content_id))
        await answer(interaction, embed=created_embed(created), view=view, ephemeral=private)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Shorten(bot))
