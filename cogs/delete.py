"""/delete: remove an item, as its owner or as a moderator of the server it was made in,
after a confirmation."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify, item_id
from bot.discord.tree import answer, defer, update
from bot.discord.ui import OwnedView
from bot.errors import NotFound
from bot.service import ContentService


def moderated_guild(interaction: discord.Interaction) -> int | None:
    """The server whose items this member may remove: where they have Manage Messages."""
    member = interaction.user
    if interaction.guild_id is None or not isinstance(member, discord.Member):
        return None
    if interaction.guild is not None:
        allowed = member.guild_permissions.manage_messages
    else:  # a server the bot has no cache of: what Discord resolved for this channel
        allowed = interaction.permissions.manage_messages
    return interaction.guild_id if allowed else None


class ConfirmDelete(OwnedView):
    """ "Delete" or "Cancel", for the member who asked."""

    def __init__(
        self,
        service: ContentService,
        *,
        user_id: int,
        content_id: str,
        owner_id: int,
        moderated_guild_id: int | None,
    ) -> None:
        super().__init__(user_id)
        self.service = service
        self.content_id = content_id
        self.owner_id = owner_id
        self.moderated_guild_id = moderated_guild_id

    @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await self.service.delete(
            self.content_id, owner_id=self.owner_id, moderated_guild_id=self.moderated_guild_id
        )
        self.stop()
        await update(interaction, content=f"Deleted `{self.content_id}`.", view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)


class Delete(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    @app_commands.command(
        description="Delete an item of yours, or one made in a server you moderate"
    )
    @app_commands.rename(content_id="id")
    @app_commands.describe(content_id="The item's id or short link")
    async def delete(
        self, interaction: discord.Interaction, content_id: app_commands.Range[str, 1, 200]
    ) -> None:
        service = self.bot.service
        wanted = item_id(content_id)
        check_rate(service, interaction.user, "delete")
        await defer(interaction, ephemeral=True)
        caller = await identify(service, interaction.user)
        moderated = moderated_guild(interaction)
        if not await service.may_delete(
            wanted, owner_id=caller.owner_id, moderated_guild_id=moderated
        ):
            raise NotFound("No such item, or it is not yours to delete.")
        view = ConfirmDelete(
            service,
            user_id=interaction.user.id,
            content_id=wanted,
            owner_id=caller.owner_id,
            moderated_guild_id=moderated,
        )
        url = service.url_for(wanted)
        await answer(
            interaction, content=f"Delete {url}? This cannot be undone.", view=view, ephemeral=True
        )


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Delete(bot))
