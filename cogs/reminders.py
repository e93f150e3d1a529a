"""Expiry reminders, for people who turned them on with /reminders: one DM a round listing
their items that run out within a day, with an "Extend 7 days" button for each.

The rounds run in a background task this cog owns: started when the cog loads, stopped when
it unloads, failures logged. How a reminder is sent once, and what happens when sending fails,
is described in bot/service/reminders.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.app import RefbinBot
from bot.discord.caller import check_rate, identify
from bot.discord.render import COLOUR, when
from bot.discord.tree import answer, defer, update
from bot.discord.ui import ItemButton, lasting_view
from bot.models import KIND_TITLES
from bot.service import ContentService
from bot.service.reminders import Delivery, Reminder, ReminderJob

log = logging.getLogger(__name__)

EXTENSION = timedelta(days=7)


class ExtendButton(
    ItemButton, action="extend", label="Extend 7 days", style=discord.ButtonStyle.primary
):
    """ "Extend 7 days" under a reminder."""

    async def pressed(self, interaction: discord.Interaction, service: ContentService) -> None:
        check_rate(service, interaction.user, "create")
        await interaction.response.defer()
        caller = await identify(service, interaction.user)
        item = await service.extend(self.content_id, owner_id=caller.owner_id, by=EXTENSION)
        url = service.url_for(item.content_id)
        embed = discord.Embed(
            title="Extended",
            colour=COLOUR,
            description=f"{url} now expires {when(item.expires_at)}.",
        )
        await update(interaction, embed=embed, view=None)


def reminder_message(
    reminders: list[Reminder], service: ContentService
) -> tuple[discord.Embed, discord.ui.View]:
    """One message for a person's reminders: a line and a button for each item."""
    lines = []
    buttons = []
    for reminder in reminders:
        kind = KIND_TITLES[reminder.kind].lower()
        url = service.url_for(reminder.content_id)
        lines.append(f"Your {kind} {url} expires {when(reminder.expires_at)}.")
        button = ExtendButton(reminder.content_id)
        if len(reminders) > 1:  # which item each button extends
            button.item.label = f"Extend {reminder.content_id}"
        buttons.append(button)
    embed = discord.Embed(
        title="Expires soon" if len(reminders) == 1 else f"{len(reminders)} items expire soon",
        colour=COLOUR,
        description="\n".join(lines),
    )
    embed.set_footer(text="Each button extends its item by 7 days. /reminders turns these off.")
    return embed, lasting_view(*buttons)


class Reminders(commands.Cog):
    def __init__(self, bot: RefbinBot) -> None:
        self.bot = bot
        self.job = ReminderJob(bot.service, self.send, bot.clock)
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ExtendButton)
        if self.bot.reminder_interval is not None:
            self._task = asyncio.create_task(self._rounds(self.bot.reminder_interval))
            self._task.add_done_callback(_log_failure)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ExtendButton)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _rounds(self, interval: float) -> None:
        await self.bot.wait_until_ready()
        await self.job.run_forever(interval)

    async def send(self, reminders: list[Reminder]) -> Delivery:
        """DM one person their reminders; whether it went out, never will, or may later."""
        embed, view = reminder_message(reminders, self.bot.service)
        try:
            channel = await self.bot.create_dm(discord.Object(reminders[0].discord_user_id))
            await channel.send(embed=embed, view=view)
        except (discord.Forbidden, discord.NotFound):
            return Delivery.UNDELIVERABLE  # DMs closed, or no such user any more
        except discord.HTTPException as error:
            return Delivery.RETRY if error.status >= 500 else Delivery.UNDELIVERABLE
        except (aiohttp.ClientError, TimeoutError):
            return Delivery.RETRY
        return Delivery.SENT

    @app_commands.command(
        description="Turn expiry reminders by direct message on or off (off at first)"
    )
    @app_commands.describe(
        enabled="Whether to get a DM a day before items of yours expire (those kept 2+ days)"
    )
    async def reminders(self, interaction: discord.Interaction, enabled: bool) -> None:
        service = self.bot.service
        await defer(interaction, ephemeral=True)
        caller = await identify(service, interaction.user)
        await service.set_reminders(caller.owner_id, enabled)
        state = "on" if enabled else "off"
        await answer(interaction, content=f"Expiry reminders are {state}.", ephemeral=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the reminder task stopped", exc_info=task.exception())


async def setup(bot: RefbinBot) -> None:
    await bot.add_cog(Reminders(bot))
