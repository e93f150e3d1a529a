"""Building blocks for the bot's buttons and forms, with errors sent to the one mapping.

discord.py hands errors in views and modals to their own on_error, and only logs those of
persistent (dynamic) buttons; each of these routes them to `report_error` instead.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.discord.tree import report_error

SelfT = TypeVar("SelfT")
Callback = Callable[[SelfT, discord.Interaction], Awaitable[None]]
VIEW_TIMEOUT = 600.0


class OwnedView(discord.ui.View):
    """Buttons only the user they were made for may press (others are told so)."""

    def __init__(self, user_id: int, *, timeout: float | None = VIEW_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
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
