"""The "Save to refbin" message menu: a message's links, attachments and code blocks, each
stored and answered with its own link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.attachments import store_attachment
from bot.discord.caller import Caller, check_rate, identify
from bot.discord.chat_parts import CodeBlock, code_blocks, links
from bot.discord.render import describe, escape
from bot.discord.tree import answer, defer
from bot.errors import Invalid, RefbinError
from bot.models import Created

MAX_ITEMS = 10


class Save(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Save to refbin", callback=self.save)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def save(self, interaction: discord.Interaction, message: discord.Message) -> None:
        blocks = code_blocks(message.content)
        found = len(links(message.content)) + len(blocks) + len(message.attachments)
        if not found:
            raise Invalid("That message has no links, attachments or code blocks to save.")
        check_rate(self.bot.service, interaction.user, "create")
        await defer(interaction, ephemeral=True)
        caller = await identify(
            self.bot.service, interaction.user, interaction.guild_id, with_guild=True
        )
        lines = []
        for label, store in self._jobs(message, caller)[:MAX_ITEMS]:
            try:
                created = await store()
            except RefbinError as error:
                lines.append(f"✗ {escape(label)[:80]}: {escape(error.message)}")
            else:
                lines.append(f"{created.url} · {describe(created.item)}")
        if found > MAX_ITEMS:
            lines.append(f"(the first {MAX_ITEMS} of {found} were saved)")
        await answer(interaction, content="\n".join(lines)[:2000], ephemeral=True)

    def _jobs(
        self, message: discord.Message, caller: Caller
    ) -> list[tuple[str, Callable[[], Awaitable[Created]]]]:
        """What to store: the links, then the code blocks, then the attachments."""
        jobs: list[tuple[str, Callable[[], Awaitable[Created]]]] = []
        for link in links(message.content):
            jobs.append((link, partial(self._shorten, caller, link)))
        for number, block in enumerate(code_blocks(message.content), 1):
            jobs.append((f"code block {number}", partial(self._paste, caller, block)))
        for attachment in message.attachments:
            jobs.append((attachment.filename, partial(self._upload, caller, attachment)))
        return jobs

    async def _shorten(self, caller: Caller, link: str) -> Created:
        return await self.bot.service.add_link(link, options=caller.item_options("url"))

    async def _paste(self, caller: Caller, block: CodeBlock) -> Created:
        options = caller.item_options("text")
        return await self.bot.service.add_paste(
            block.text, language=block.language, options=options
        )

    async def _upload(self, caller: Caller, attachment: discord.Attachment) -> Created:
        options = caller.item_options(None)
        return await store_attachment(
            self.bot.service, self.bot.session, attachment, caller, options
        )


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Save(bot))
