"""Expiry reminders: which owners want them, and which are due (claimed once each)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from bot.db.pool import Queryable


async def set_owner_reminders(conn: Queryable, owner_id: int, enabled: bool) -> None:
    await conn.execute("UPDATE owners SET reminders = $2 WHERE owner_id = $1", owner_id, enabled)


async def mark_auto_pasted(conn: Queryable, content_id: str) -> None:
    await conn.execute("UPDATE refs SET auto_pasted = TRUE WHERE content_id = $1", content_id)


async def claim_due_reminders(
    conn: Queryable, now: datetime, window: timedelta, limit: int, min_life: timedelta
) -> list[asyncpg.Record]:
    """Mark, and return, live items of Discord owners (with reminders on) that expire within
    `window` of `now`, were not reminded in this life, live at least `min_life` in all and
    were not auto-pasted. One statement: the claim and the mark commit together, and
    concurrent claimers skip each other's rows."""
    return await conn.fetch(
        """
        UPDATE refs r
        SET reminded_at = now()
        FROM owners o
        WHERE o.owner_id = r.owner_id
          AND r.content_id IN (
            SELECT d.content_id
            FROM refs d
            JOIN owners w ON w.owner_id = d.owner_id
            WHERE d.expires_at > $1
              AND d.expires_at <= $1 + $2::interval
              AND (d.reminded_at IS NULL OR d.reminded_at < d.created_at)
              AND d.blocked_reason IS NULL
              AND (d.max_views IS NULL OR d.views < d.max_views)
              AND d.expires_at - d.created_at >= $4::interval
              AND NOT d.auto_pasted
              AND w.reminders
              AND w.discord_user_id IS NOT NULL
            ORDER BY d.expires_at
            LIMIT $3
            FOR UPDATE OF d SKIP LOCKED
          )
        RETURNING r.content_id, r.kind::text AS kind, o.discord_user_id, r.expires_at
        """,
        now,
        window,
        limit,
        min_life,
    )


async def release_reminder(conn: Queryable, content_id: str) -> None:
    """Make a claimed reminder due again (its sending failed for a reason that may pass)."""
    await conn.execute("UPDATE refs SET reminded_at = NULL WHERE content_id = $1", content_id)
