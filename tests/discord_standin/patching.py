"""Point discord.py at the stand-in: the hard-coded API base, gateway and CDN URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import discord
import discord.http
import yarl
from discord.gateway import DiscordWebSocket


@contextmanager
def discord_pointed_at(*, api_base: str, gateway_url: str, cdn_base: str) -> Iterator[None]:
    """Swap discord.py's class-level URLs for the stand-in's, and restore them afterwards.

    - `Route.BASE` ("https://discord.com/api/v10") builds every REST and webhook URL.
    - `DiscordWebSocket.DEFAULT_GATEWAY`: a plain Client connects there without asking
      /gateway/bot (only AutoShardedClient asks), and falls back to it after INVALID_SESSION.
    - `Asset.BASE` ("https://cdn.discordapp.com") builds avatar, icon and banner URLs.
    """
    saved = (discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, discord.Asset.BASE)
    discord.http.Route.BASE = api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    discord.Asset.BASE = cdn_base
    try:
        yield
    finally:
        discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, discord.Asset.BASE = saved
