"""Building blocks for the bot's buttons and forms, with errors sent to the one mapping.

discord.py hands errors in views and modals to their own on_error, and only logs those of
persistent (dynamic) buttons; each of these routes them to `report_error` instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self, TypeVar

import discord

from bot.discord.app import RefbinBot
from bot.discord.tree import TimedView, report_error
from bot.service import ID_PATTERN, ContentService

SelfT = TypeVar("SelfT")
Callback = Callable[[SelfT, discord.Interaction], Awaitable[None]]
VIEW_TIMEOUT = 600.0
# The service's id pattern without its anchors, to sit inside a button's custom id.
_ITEM_ID = ID_PATTERN.pattern.removeprefix("^").removesuffix("$")


class OwnedView(TimedView):
    """Buttons only the user they were made for may press (others are told so); they are
    taken off their message when they time out (`lifetime` seconds unused)."""

    lifetime: ClassVar[float] = VIEW_TIMEOUT

    def __init__(self, user_id: int) -> None:
        super().__init__(timeout=self.lifetime)
        self.user_id = user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.user_id:
            return True
        await interaction.response.send_message("These buttons are not yours.", ephemeral=True)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class RefbinModal(discord.ui.Modal):
    """A form whose submit errors are answered like every other error."""

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error)


def reporting_errors(callback: Callback[SelfT]) -> Callback[SelfT]:
    """For a persistent button's callback: errors are reported, not just logged."""

    @functools.wraps(callback)
    async def reported(self: SelfT, interaction: discord.Interaction) -> None:
        try:
            await callback(self, interaction)
        except Exception as error:
            await report_error(interaction, error)

    return reported


def lasting_view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """A view for persistent buttons: it never times out (the bot answers them after restarts)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def _item_template(action: str) -> str:
    return rf"refbin:{action}:(?P<id>{_ITEM_ID})"


class ItemButton(discord.ui.DynamicItem[discord.ui.Button], template=_item_template("[a-z]+")):
    """A button about one item that keeps working after restarts: its custom id,
    `refbin:<action>:<id>`, carries the item's id.

    A subclass names its action, label and style in the class statement and does its work in
    `pressed`; its errors are reported like every other error. Its cog registers it with
    `bot.add_dynamic_items`.
    """

    action: ClassVar[str]
    label: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]

    def __init_subclass__(
        cls,
        *,
        action: str,
        label: str,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init_subclass__(template=_item_template(re.escape(action)))
        cls.action = action
        cls.label = label
        cls.style = style

    def __init__(self, content_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label,
                style=self.style,
                custom_id=f"refbin:{self.action}:{content_id}",
            )
        )
        self.content_id = content_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
    ) -> Self:
        return cls(match["id"])

    @reporting_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        bot = interaction.client
        assert isinstance(bot, RefbinBot)
        await self.pressed(interaction, bot.service)

    async def pressed(self, interaction: discord.Interaction, service: ContentService) -> None:
        """What the button does, for `self.content_id`."""
        raise NotImplementedError
