"""Per-server settings for the Discord bot: what members may store, defaults, and auto-paste.

Managers change them with /settings; the content service checks and stores them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.config import LimitSettings
from bot.db import Database
from bot.db import guilds as guilds_sql
from bot.errors import Forbidden, Invalid
from bot.models import KIND_PLURALS, KINDS, Kind
from bot.units import format_size

MAX_AUTO_PASTE_CHANNELS = 25
MAX_AUTO_PASTE_LINES = 10_000


@dataclass(frozen=True)
class GuildSettings:
    """One server's settings; a server nobody configured has these defaults."""

    guild_id: int
    auto_paste_channels: tuple[int, ...] = ()
    auto_paste_min_lines: int = 30
    auto_paste_delete: bool = False  # offer the author to remove their original message
    default_expiry: timedelta | None = None
    allowed_kinds: tuple[Kind, ...] = KINDS
    upload_limit: int | None = None  # bytes, below the instance's limit; None: that limit

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> GuildSettings:
        return cls(
            guild_id=row["guild_id"],
            auto_paste_channels=tuple(row["auto_paste_channels"]),
            auto_paste_min_lines=row["auto_paste_min_lines"],
            auto_paste_delete=row["auto_paste_delete"],
            default_expiry=row["default_expiry"],
            allowed_kinds=tuple(k for k in KINDS if k in row["allowed_kinds"]),
            upload_limit=row["upload_limit"],
        )

    def check_kind(self, kind: Kind) -> None:
        """Forbidden unless members of this server may store this kind of item."""
        if kind not in self.allowed_kinds:
            raise Forbidden(f"This server does not allow storing {KIND_PLURALS[kind]}.")

    def expiry(self, asked: timedelta | None) -> timedelta | None:
        """The expiry for a new item: what the member asked for, else the server's default."""
        return asked if asked is not None else self.default_expiry

    def upload_limit_within(self, instance_limit: int) -> int:
        return min(instance_limit, self.upload_limit) if self.upload_limit else instance_limit

    def auto_pastes_in(self, channel_id: int) -> bool:
        return channel_id in self.auto_paste_channels


def check_guild_settings(settings: GuildSettings, limits: LimitSettings) -> None:
    """Invalid, with the reason, unless the settings fit within the instance's limits."""
    if not settings.allowed_kinds:
        raise Invalid("Members must be allowed to store at least one kind of item.")
    if not set(settings.allowed_kinds) <= set(KINDS):
        raise Invalid(f"Kinds are {', '.join(KINDS)}.")
    if settings.upload_limit is not None:
        if settings.upload_limit <= 0:
            raise Invalid("The upload limit must be more than 0 bytes.")
        if settings.upload_limit > limits.upload:
            raise Invalid(
                f"The upload limit cannot be above this instance's {format_size(limits.upload)}."
            )
    if settings.default_expiry is not None:
        if settings.default_expiry <= timedelta(0):
            raise Invalid("The default expiry must be in the future.")
        if limits.max_expiry is not None and settings.default_expiry > limits.max_expiry:
            raise Invalid("The default expiry is longer than this instance allows.")
    if not 0 < settings.auto_paste_min_lines <= MAX_AUTO_PASTE_LINES:
        raise Invalid(f"Auto-paste starts at 1 to {MAX_AUTO_PASTE_LINES:,} lines.")
    if len(settings.auto_paste_channels) > MAX_AUTO_PASTE_CHANNELS:
        raise Invalid(f"Auto-paste works in at most {MAX_AUTO_PASTE_CHANNELS} channels.")


async def load_guild_settings(db: Database, guild_id: int) -> GuildSettings:
    """A server's settings (the defaults until a manager changes one)."""
    row = await guilds_sql.fetch_guild_settings(db.pool, guild_id)
    return GuildSettings(guild_id=guild_id) if row is None else GuildSettings.from_row(row)


async def save_guild_settings(
    db: Database, settings: GuildSettings, limits: LimitSettings
) -> GuildSettings:
    """Check a server's settings against the instance's limits and store them."""
    check_guild_settings(settings, limits)
    row = await guilds_sql.upsert_guild_settings(
        db.pool,
        guild_id=settings.guild_id,
        auto_paste_channels=settings.auto_paste_channels,
        auto_paste_min_lines=settings.auto_paste_min_lines,
        auto_paste_delete=settings.auto_paste_delete,
        default_expiry=settings.default_expiry,
        allowed_kinds=settings.allowed_kinds,
        upload_limit=settings.upload_limit,
    )
    return GuildSettings.from_row(row)
