"""How the bot answers, and the one place failures become messages.

Domain errors (the content service's RefbinError family) and Discord's own check failures
become clear ephemeral messages; anything else is logged with a short reference the user can
quote to the operator. Slash commands reach `report_error` through the tree's on_error; views,
modals and persistent buttons route theirs to the same function.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.discord.render import escape
from bot.errors import RateLimited, RefbinError

log = logging.getLogger(__name__)

# interaction.extras key: the interaction was deferred with a public "thinking…" message, which
# the first follow-up would fill (public even when the follow-up asks to be ephemeral).
PUBLIC_LOADER = "refbin.public_loader"


NOT_IN_DMS = "Commands do not work in DMs on this instance; use them in a server."


class RefbinTree(app_commands.CommandTree):
    """The bot's command tree: every app command error goes through `report_error`, and
    commands run only where the operator allows them (`discord.allowed_guilds`, `discord.dms`)."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        settings = getattr(self.client, "settings", None)
        if settings is None:
            return True
        if interaction.guild_id is not None:
            # A server the bot is leaving (or was never allowed in) gets no answer at all.
            return settings.discord.allows_guild(interaction.guild_id)
        if settings.discord.dms:
            return True
        # Discord offers no command in DMs when they are off; this answers a stale client.
        if interaction.type is discord.InteractionType.application_command:
            await interaction.response.send_message(NOT_IN_DMS, ephemeral=True)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally; log what was not their doing."""
    cause = _unwrap(error)
    message = explain(cause)
    if message is None:
        reference = secrets.token_hex(4)
        log.error(
            "unexpected error [%s] in %s by user %s",
            reference,
            _what(interaction),
            interaction.user.id,
            exc_info=cause,
        )
        message = (
            "Something went wrong on refbin's side. "
            f"If it keeps happening, tell the operator reference `{reference}`."
        )
    if interaction.type is discord.InteractionType.autocomplete:
        return
    try:
        await answer_privately(interaction, message)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id, exc_info=True)


def explain(error: BaseException) -> str | None:
    """The message for an error the user can act on; None for a fault of ours."""
    if isinstance(error, RateLimited):
        return f"Slow down: {error.message}"
    if isinstance(error, RefbinError):
        return escape(error.message)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This works only in a server."
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permissions(error.missing_permissions)} permission for this."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need the {_permissions(error.missing_permissions)} permission here."
    if isinstance(error, app_commands.TransformerError):
        return f"{escape(str(error.value))[:100]} is not something this option takes."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this here."
    return None


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Acknowledge now ("thinking…"), for work that may take longer than Discord's 3 s."""
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    interaction.extras[PUBLIC_LOADER] = not ephemeral


class TimedView(discord.ui.View):
    """Buttons that stop working after a while, and are then taken off their message, so an
    old message never offers a button Discord would answer with "This interaction failed".

    `answer` tells the view which message it is on; a view sent another way (a reply in a
    channel) is told by setting `message` to what the send returned.
    """

    message: discord.Message | None = None

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        try:
            # through the interaction's webhook for answers (ephemeral ones too): its token
            # lasts 15 minutes, longer than any of these views
            await self.message.edit(view=None)
        except discord.HTTPException:
            log.debug("could not remove the timed-out buttons of message %s", self.message.id)


async def answer(
    interaction: discord.Interaction, *, ephemeral: bool = False, **message: Any
) -> None:
    """Send the answer: as the response, or as the follow-up that fills a deferral."""
    if not interaction.response.is_done():
        sent = await interaction.response.send_message(ephemeral=ephemeral, **message)
        shown = sent.resource if isinstance(sent.resource, discord.Message) else None
    else:
        interaction.extras[PUBLIC_LOADER] = False
        shown = await interaction.followup.send(ephemeral=ephemeral, wait=True, **message)
    view = message.get("view")
    if isinstance(view, TimedView) and shown is not None:
        view.message = shown


async def update(interaction: discord.Interaction, **message: Any) -> None:
    """Change the message a button is on: at once, or after `interaction.response.defer()`
    (which buttons whose work touches the database or Discord do first)."""
    if not interaction.response.is_done():
        await interaction.response.edit_message(**message)
        return
    await interaction.edit_original_response(**message)


async def answer_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral answer, even after a public deferral (whose loader is removed first)."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    if interaction.extras.get(PUBLIC_LOADER):
        interaction.extras[PUBLIC_LOADER] = False
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not remove the loader of interaction %s", interaction.id)
    await interaction.followup.send(text, ephemeral=True, wait=True)


def _unwrap(error: BaseException) -> BaseException:
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.TransformerError) and isinstance(
        error.__cause__, RefbinError
    ):
        error = error.__cause__
    return error


def _permissions(names: list[str]) -> str:
    return " and ".join(n.replace("_", " ").replace("guild", "server").title() for n in names)


def _what(interaction: discord.Interaction) -> str:
    command = interaction.command
    if command is not None:
        return f"/{command.qualified_name}"
    data = interaction.data or {}
    return f"component {data.get('custom_id', '?')}"
