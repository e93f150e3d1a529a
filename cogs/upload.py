"""/upload: up to three attachments, streamed from Discord's CDN into refbin."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.attachments import check_size, store_attachment
from bot.discord.caller import check_rate, identify, parse_expiry
from bot.discord.render import created_embed, escape
from bot.discord.tree import answer, defer
from bot.errors import Invalid, RefbinError
from bot.models import Created


class Upload(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    @app_commands.command(description="Upload up to three files or images")
    @app_commands.describe(
        file="The file or image to upload",
        file2="Another one",
        file3="And another",
        expires="When they stop working, e.g. 1h, 7d, 2w (default: the server's choice)",
        private="Long, unguessable ids, shown only to you",
    )
    async def upload(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        file2: discord.Attachment | None = None,
        file3: discord.Attachment | None = None,
        expires: str | None = None,
        private: bool = False,
    ) -> None:
        service = self.bot.service
        attachments = [a for a in (file, file2, file3) if a is not None]
        expires_in = parse_expiry(expires)
        # The instance's limit needs no database: a file over it is refused before the deferral.
        # The server's own limit, if lower, is checked per file once the caller is known.
        for attachment in attachments:
            check_size(attachment, service.settings.limits.upload)
        check_rate(service, interaction.user, "create")
        await defer(interaction, ephemeral=private)
        caller = await identify(service, interaction.user, interaction.guild_id, with_guild=True)
        options = caller.item_options(None, expires_in=expires_in, private=private)
        stored: list[Created] = []
        refused: list[tuple[str, RefbinError]] = []
        for attachment in attachments:
            try:
                created = await store_attachment(
                    service, self.bot.session, attachment, caller, options
                )
            except RefbinError as error:
                refused.append((attachment.filename, error))
            else:
                stored.append(created)
        if not stored:
            if len(refused) == 1:
                raise refused[0][1]
            raise Invalid(" ".join(f"{name}: {error.message}" for name, error in refused))
        embeds = [self._embed(created) for created in stored]
        notes = "\n".join(f"**{escape(n)}**: {escape(e.message)}" for n, e in refused)
        await answer(interaction, content=notes or None, embeds=embeds, ephemeral=private)

    def _embed(self, created: Created) -> discord.Embed:
        thumb = None
        if created.item.kind == "image":
            thumb = f"{created.url}/thumb"
        return created_embed(created, thumb_url=thumb)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Upload(bot))
