"""/paste: a form with a large text field; the answer links the paste and shows its start."""

from __future__ import annotations

from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify, parse_expiry
from bot.discord.render import created_embed
from bot.discord.tree import answer, defer
from bot.discord.ui import RefbinModal
from bot.errors import SecretFound
from bot.service.languages import canonical_language

REVOKE_HINT = (
    "A Discord bot token is revoked by resetting it in the Developer Portal. "
    "Paste the text again without the credential."
)
MAX_MODAL_TEXT = 4000  # Discord's limit for a text input
COMMON_LANGUAGES = (
    "bash",
    "c",
    "cpp",
    "csharp",
    "css",
    "diff",
    "go",
    "html",
    "java",
    "javascript",
    "json",
    "kotlin",
    "lua",
    "markdown",
    "php",
    "python",
    "ruby",
    "rust",
    "sql",
    "text",
    "toml",
    "typescript",
    "yaml",
)


class PasteForm(RefbinModal, title="New paste"):
    """The text and, optionally, a file name whose extension tells the language."""

    def __init__(
        self, cog: Paste, *, language: str | None, expires_in: timedelta | None, private: bool
    ) -> None:
        super().__init__(timeout=900)
        self.cog = cog
        self.language = language
        self.expires_in = expires_in
        self.private = private
        self.text = discord.ui.TextInput(
            style=discord.TextStyle.long,
            max_length=MAX_MODAL_TEXT,
            placeholder="Paste text or code here",
        )
        self.filename = discord.ui.TextInput(
            required=False, max_length=255, placeholder="e.g. main.py"
        )
        self.add_item(discord.ui.Label(text="Text", component=self.text))
        self.add_item(
            discord.ui.Label(
                text="File name",
                description="Optional. Its extension sets the language.",
                component=self.filename,
            )
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.cog.store(
            interaction,
            self.text.value,
            filename=self.filename.value.strip() or None,
            language=self.language,
            expires_in=self.expires_in,
            private=self.private,
        )


class Paste(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    @app_commands.command(description="Paste text or code")
    @app_commands.describe(
        language="The language to highlight (default: from the file name, or guessed)",
        expires="When it stops working, e.g. 1h, 7d, 2w (default: the server's choice)",
        private="A long, unguessable id, shown only to you",
    )
    async def paste(
        self,
        interaction: discord.Interaction,
        language: app_commands.Range[str, 1, 40] | None = None,
        expires: str | None = None,
        private: bool = False,
    ) -> None:
        expires_in = parse_expiry(expires)
        known = canonical_language(language) if language else None
        form = PasteForm(self, language=known, expires_in=expires_in, private=private)
        await interaction.response.send_modal(form)

    @paste.autocomplete("language")
    async def language_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=name, value=name)
            for name in COMMON_LANGUAGES
            if name.startswith(typed)
        ][:25]

    async def store(
        self,
        interaction: discord.Interaction,
        text: str,
        *,
        filename: str | None,
        language: str | None,
        expires_in: timedelta | None,
        private: bool,
    ) -> None:
        """Store the submitted paste and answer with its link and its first lines."""
        service = self.bot.service
        check_rate(service, interaction.user, "create")
        await defer(interaction, ephemeral=private)
        caller = await identify(service, interaction.user, interaction.guild_id, with_guild=True)
        options = caller.item_options("text", expires_in=expires_in, private=private)
        try:
            created = await service.add_paste(
                text, language=language, filename=filename, options=options
            )
        except SecretFound as exc:
            # The tree answers it privately; a bot token is revoked in the Developer Portal.
            raise exc.with_override(REVOKE_HINT) from None
        await answer(interaction, embed=created_embed(created, text=text), ephemeral=private)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Paste(bot))
