"""/mine: the caller's items, a page at a time, each with a delete button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify
from bot.discord.render import COLOUR, mine_line
from bot.discord.tree import answer, defer, update
from bot.discord.ui import OwnedView
from bot.models import KIND_PLURALS, KINDS, Kind, ListedItem, ListFilter, Page
from bot.service import ContentService
from bot.service.listing import MAX_TEXT

PAGE_SIZE = 5
MATCHES_SHOWN = 200  # characters of a result's matching lines
KIND_CHOICES = [app_commands.Choice(name=KIND_PLURALS[kind], value=kind) for kind in KINDS]


class MinePages(OwnedView):
    """Pages of an owner's items (keyset pagination in the service). A delete button asks
    once more ("Sure?") before it deletes."""

    def __init__(
        self,
        service: ContentService,
        *,
        user_id: int,
        owner_id: int,
        kind: Kind | None,
        query: str | None = None,
    ) -> None:
        super().__init__(user_id)
        self.service = service
        self.owner_id = owner_id
        self.kind = kind
        self.filters = ListFilter(text=query)  # the search (docs/search.md), if any
        self.cursors: list[str | None] = [None]  # where each page visited so far starts
        self.page = Page(items=(), next_cursor=None)
        self.armed: str | None = None  # the id whose delete button was pressed once
        self.note = ""

    async def load(self) -> None:
        self.page = await self.service.list_owned(
            self.owner_id, self.filters, kind=self.kind, cursor=self.cursors[-1], limit=PAGE_SIZE
        )
        self._build_buttons()

    def embed(self) -> discord.Embed:
        first = (len(self.cursors) - 1) * PAGE_SIZE
        lines = [
            mine_line(first + n, item, self.service.url_for(item.content_id)) + matching_lines(item)
            for n, item in enumerate(self.page.items, 1)
        ]
        settings = self.service.settings
        dashboard = f"{settings.server.base_url}/me" if settings.discord.signin else None
        if dashboard:  # sign-in with Discord is on: the same items, all of them, on the web
            lines.append(f"[All your items on the web]({dashboard})")
        embed = discord.Embed(
            title="Your items" if self.filters.text is None else "Your items matching",
            url=dashboard,
            colour=COLOUR,
            description="\n\n".join(lines) or "Nothing here.",
        )
        embed.set_footer(text=f"Page {len(self.cursors)}")
        return embed

    def _build_buttons(self) -> None:
        self.clear_items()
        first = (len(self.cursors) - 1) * PAGE_SIZE
        for n, item in enumerate(self.page.items, 1):
            armed = item.content_id == self.armed
            button = discord.ui.Button(
                label=f"Sure? Delete {first + n}" if armed else f"Delete {first + n}",
                style=discord.ButtonStyle.danger if armed else discord.ButtonStyle.secondary,
                row=0,
            )
            button.callback = self._deleter(item.content_id)
            self.add_item(button)
        previous = discord.ui.Button(label="◀ Previous", disabled=len(self.cursors) == 1, row=1)
        previous.callback = self._previous
        following = discord.ui.Button(label="Next ▶", disabled=not self.page.next_cursor, row=1)
        following.callback = self._next
        self.add_item(previous)
        self.add_item(following)

    async def _show(self, interaction: discord.Interaction) -> None:
        await self.load()
        content, self.note = self.note or None, ""
        await update(interaction, content=content, embed=self.embed(), view=self)

    async def _previous(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        self.cursors.pop()
        self.armed = None
        await self._show(interaction)

    async def _next(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        self.cursors.append(self.page.next_cursor)
        self.armed = None
        await self._show(interaction)

    def _deleter(self, content_id: str) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def delete(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            if self.armed != content_id:
                self.armed = content_id
            else:
                self.armed = None
                check_rate(self.service, interaction.user, "delete")
                await self.service.delete(content_id, owner_id=self.owner_id)
                self.note = f"Deleted `{content_id}`."
            await self._show(interaction)

        return delete


def matching_lines(item: ListedItem) -> str:
    """A search's matching lines of a paste, its words in bold (nothing for other results)."""
    if not item.matches:
        return ""
    text = discord.utils.escape_markdown(" ".join(item.matches.split())[:MATCHES_SHOWN])
    return "\n> " + text.replace("«", "**").replace("»", "**")


class Mine(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot

    @app_commands.command(description="Your items, newest first, or those matching a search")
    @app_commands.describe(
        kind="Only links, pastes, images or files",
        query='Words, "a phrase", kind:paste, lang:python, is:private, before:2026-12-01',
    )
    @app_commands.choices(kind=KIND_CHOICES)
    async def mine(
        self,
        interaction: discord.Interaction,
        kind: app_commands.Choice[str] | None = None,
        query: app_commands.Range[str, 1, MAX_TEXT] | None = None,
    ) -> None:
        service = self.bot.service
        check_rate(service, interaction.user, "read")
        await defer(interaction, ephemeral=True)
        caller = await identify(service, interaction.user)
        pages = MinePages(
            service,
            user_id=interaction.user.id,
            owner_id=caller.owner_id,
            kind=kind.value if kind else None,  # type: ignore[arg-type]
            query=query,
        )
        await pages.load()
        if not pages.page.items:
            nothing = "You have stored nothing yet." if query is None else "Nothing matches."
            await answer(interaction, content=nothing, ephemeral=True)
            return
        await answer(interaction, embed=pages.embed(), view=pages, ephemeral=True)


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Mine(bot))
