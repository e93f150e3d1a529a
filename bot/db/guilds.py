"""Discord servers' settings, one row each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from bot.db.pool import Queryable

GUILD_SETTINGS_COLUMNS = """
    guild_id, auto_paste_channels, auto_paste_min_lines, auto_paste_delete, default_expiry,
    allowed_kinds::text[] AS allowed_kinds, upload_limit
"""


async def fetch_guild_settings(conn: Queryable, guild_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""
        SELECT {GUILD_SETTINGS_COLUMNS}
        FROM guild_settings
        WHERE guild_id = $1
        """,
        guild_id,
    )


async def upsert_guild_settings(
    conn: Queryable,
    *,
    guild_id: int,
    auto_paste_channels: Sequence[int],
    auto_paste_min_lines: int,
    auto_paste_delete: bool,
    default_expiry: timedelta | None,
    allowed_kinds: Sequence[str],
    upload_limit: int | None,
) -> asyncpg.Record:
    """Write a guild's settings whole; the row as stored."""
    return await conn.fetchrow(
        f"""
        INSERT INTO guild_settings (guild_id, auto_paste_channels, auto_paste_min_lines,
                                    auto_paste_delete, default_expiry, allowed_kinds,
                                    upload_limit, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6::text[]::ref_kind[], $7, now())
        ON CONFLICT (guild_id) DO UPDATE
        SET auto_paste_channels = EXCLUDED.auto_paste_channels,
            auto_paste_min_lines = EXCLUDED.auto_paste_min_lines,
            auto_paste_delete = EXCLUDED.auto_paste_delete,
            default_expiry = EXCLUDED.default_expiry,
            allowed_kinds = EXCLUDED.allowed_kinds,
            upload_limit = EXCLUDED.upload_limit,
            updated_at = now()
        RETURNING {GUILD_SETTINGS_COLUMNS}
        """,
        guild_id,
        list(auto_paste_channels),
        auto_paste_min_lines,
        auto_paste_delete,
        default_expiry,
        list(allowed_kinds),
        upload_limit,
    )
