"""Who is asking, from Discord: their owner id, their rate limit, their server's rules.

Rate limits and quotas apply in Discord as on the web: each user is a client of the content
service's limiter as `discord:<user id>`, and items belong to the owner the service keeps for
that user (so quotas count them). Cogs count a request before they defer it, so an answer to
"slow down" costs no more than the answer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import discord

from bot.errors import Invalid
from bot.models import ItemOptions, Kind
from bot.service import ContentService
from bot.service.guilds import GuildSettings
from bot.units import parse_duration


def check_rate(service: ContentService, user: discord.abc.User, bucket: str) -> None:
    """Count a `create`, `read` or `delete` for the user; RateLimited when over the limit."""
    service.check_rate(bucket, f"discord:{user.id}")


def item_id(text: str) -> str:
    """An item id from what a user typed: the id itself, or its short link."""
    text = text.strip()
    if "/" in text:
        path = urlsplit(text).path if "://" in text else text
        text = next((part for part in reversed(path.split("/")) if part), "")
        if text in ("raw", "thumb", "qr") and path.count("/") >= 2:
            text = [part for part in path.split("/") if part][-2]
    return text


def parse_expiry(text: str | None) -> timedelta | None:
    """An expiry typed as `30m`, `1h`, `7d`, `2w`; None when not given."""
    if text is None or not text.strip():
        return None
    try:
        return parse_duration(text)
    except ValueError:
        raise Invalid(
            f"{text.strip()[:40]!r} is not an expiry; write it like 30m, 1h, 7d or 2w."
        ) from None


@dataclass(frozen=True)
class Caller:
    """A Discord user as the content service knows them, and the rules of where they are."""

    user_id: int
    owner_id: int
    guild_id: int | None
    guild: GuildSettings | None

    def item_options(
        self,
        kind: Kind | None,
        *,
        expires_in: timedelta | None = None,
        private: bool = False,
        max_views: int | None = None,
    ) -> ItemOptions:
        """Options for a new item; Forbidden when the server does not allow its kind."""
        if self.guild is not None:
            if kind is not None:
                self.guild.check_kind(kind)
            expires_in = self.guild.expiry(expires_in)
        return ItemOptions(
            owner_id=self.owner_id,
            guild_id=self.guild_id,
            visibility="private" if private else "public",
            expires_in=expires_in,
            max_views=max_views,
        )

    def upload_limit(self, instance_limit: int) -> int:
        return self.guild.upload_limit_within(instance_limit) if self.guild else instance_limit


async def identify(
    service: ContentService,
    user: discord.abc.User,
    guild_id: int | None = None,
    *,
    with_guild: bool = False,
) -> Caller:
    """The user's owner id (made on first use) and, when asked, their server's settings."""
    owner_id = await service.owner_for_discord_user(user.id, user.name)
    guild = await service.guild_settings(guild_id) if with_guild and guild_id else None
    return Caller(user.id, owner_id, guild_id, guild)
