"""/settings: a server's refbin settings, for members with Manage Server.

Settings always belong to the server the command is used in (never one named in an option),
so nobody can change another server's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import parse_expiry
from bot.discord.render import settings_embed
from bot.discord.tree import answer, defer
from bot.errors import Invalid
from bot.models import KINDS, Kind
from bot.service.guilds import GuildSettings
from bot.units import parse_size

NONE_WORDS = ("none", "off", "never", "")


# Servers only, explicitly: the tree's contexts add DMs when discord.dms is on.
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
@app_commands.default_permissions(manage_guild=True)
class Settings(
    commands.GroupCog,
    group_name="settings",
    group_description="refbin's settings for this server (Manage Server)",
):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Server admins can open the command to others in Integrations; the rule stays.
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="show", description="Show this server's settings")
    async def show(self, interaction: discord.Interaction) -> None:
        await self._change(interaction, None)

    @app_commands.command(name="auto-paste", description="Answer long code blocks in a channel")
    @app_commands.describe(
        channel="The channel",
        enabled="Whether auto-paste works there",
        min_lines="Code blocks from this many lines (all channels)",
        offer_removal="Offer authors to remove their original message (all channels)",
    )
    async def auto_paste(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        enabled: bool,
        min_lines: app_commands.Range[int, 1, 10_000] | None = None,
        offer_removal: bool | None = None,
    ) -> None:
        if enabled and not self.bot.settings.discord.auto_paste:
            raise Invalid(
                "Auto-paste is switched off on this refbin (discord.auto_paste); "
                "ask its operator to switch it on."
            )

        def update(current: GuildSettings) -> GuildSettings:
            channels = [c for c in current.auto_paste_channels if c != channel.id]
            return dataclasses.replace(
                current,
                auto_paste_channels=(*channels, channel.id) if enabled else tuple(channels),
                auto_paste_min_lines=min_lines or current.auto_paste_min_lines,
                auto_paste_delete=(
                    current.auto_paste_delete if offer_removal is None else offer_removal
                ),
            )

        await self._change(interaction, update)

    @app_commands.command(name="expiry", description="The expiry of items made here by default")
    @app_commands.describe(default="e.g. 1h, 7d, 2w; 'none' for the instance's default")
    async def expiry(self, interaction: discord.Interaction, default: str) -> None:
        value = None if default.strip().lower() in NONE_WORDS else parse_expiry(default)
        await self._change(interaction, lambda s: dataclasses.replace(s, default_expiry=value))

    @app_commands.command(name="kinds", description="What members may store")
    @app_commands.describe(
        links="Short links", pastes="Pastes", images="Images", files="Other files"
    )
    async def kinds(
        self,
        interaction: discord.Interaction,
        links: bool | None = None,
        pastes: bool | None = None,
        images: bool | None = None,
        files: bool | None = None,
    ) -> None:
        wanted: dict[Kind, bool | None] = {
            "url": links,
            "text": pastes,
            "image": images,
            "file": files,
        }

        def update(current: GuildSettings) -> GuildSettings:
            allowed = tuple(
                kind
                for kind in KINDS
                if (wanted[kind] if wanted[kind] is not None else kind in current.allowed_kinds)
            )
            return dataclasses.replace(current, allowed_kinds=allowed)

        await self._change(interaction, update)

    @app_commands.command(name="upload-limit", description="A size limit below the instance's")
    @app_commands.describe(size="e.g. 8MiB; 'none' for the instance's limit")
    async def upload_limit(self, interaction: discord.Interaction, size: str) -> None:
        value = None
        if size.strip().lower() not in NONE_WORDS:
            try:
                value = parse_size(size)
            except ValueError:
                raise Invalid(f"{size[:40]!r} is not a size; write it like 8MiB.") from None
        await self._change(interaction, lambda s: dataclasses.replace(s, upload_limit=value))

    async def _change(
        self,
        interaction: discord.Interaction,
        update: Callable[[GuildSettings], GuildSettings] | None,
    ) -> None:
        """Apply a change (None: just show), and answer with the settings as they are now.

        Other cogs hear of the change as the `refbin_guild_settings` event.
        """
        await defer(interaction, ephemeral=True)
        service = self.bot.service
        settings = await service.guild_settings(interaction.guild_id or 0)
        if update is not None:
            settings = await service.save_guild_settings(update(settings))
            self.bot.dispatch("refbin_guild_settings", settings)
        embed = settings_embed(settings, instance_upload_limit=service.settings.limits.upload)
        await answer(interaction, embed=embed, ephemeral=True)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Settings(bot))
