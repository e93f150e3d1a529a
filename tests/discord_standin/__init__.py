"""A stand-in for Discord (REST API, gateway, CDN) on loopback, for tests of real discord.py.

Start it with `async with DiscordStandin() as discord_api:` (or the `discord_api` fixture in
`tests.discord_standin.fixtures`), build guilds and users, run the bot with
`discord_api.running(bot)`, act as users (slash commands, buttons, modals, messages) and await
what the bot sent back (`wait_for_callback`, `wait_for_request`).
"""

from __future__ import annotations

from .guild import Guild
from .models import Channel, Member, Role, User
from .records import GatewayFrame, InteractionCallback, RecordedFile, RecordedRequest
from .server import DiscordStandin

__all__ = [
    "Channel",
    "DiscordStandin",
    "GatewayFrame",
    "Guild",
    "InteractionCallback",
    "Member",
    "RecordedFile",
    "RecordedRequest",
    "Role",
    "User",
]
