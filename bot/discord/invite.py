"""The link that adds the bot to a server, with exactly the permissions its features use."""

from __future__ import annotations

import discord

from bot.config import ConfigError, DiscordSettings

# Reading and answering in channels and threads (auto-paste, the replies it makes), embeds and
# files in those answers, replying to a message (its history), and removing an auto-pasted
# message when its author asks (Manage Messages).
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    manage_messages=True,
)
SCOPES = "bot+applications.commands"


def invite_url(settings: DiscordSettings) -> str:
    """The invite link for the application `discord.client_id` names."""
    if not settings.client_id:
        raise ConfigError(
            "discord.client_id (or REFBIN_DISCORD_CLIENT_ID) is not set: the application's id, "
            "from the developer portal's General Information page"
        )
    return (
        "https://discord.com/oauth2/authorize"
        f"?client_id={settings.client_id}&scope={SCOPES}&permissions={BOT_PERMISSIONS.value}"
    )
