"""Blobs: the content-addressed bytes items share, recorded, counted, listed and collected."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.db.pool import Queryable


async def touch_blob(conn: Queryable, sha256: str, size: int, media_type: str) -> None:
    """Record a blob, or mark it freshly used so the sweep leaves it alone."""
    await conn.execute(
        """
        INSERT INTO blobs (sha256, size, media_type)
        VALUES ($1, $2, $3)
        ON CONFLICT (sha256) DO UPDATE
        SET touched_at = now()
        """,
        sha256,
        size,
        media_type,
    )


async def claim_unused_blobs(conn: asyncpg.Connection, grace_seconds: int, limit: int) -> list[str]:
    """Delete (in the caller's transaction) blob rows no item uses and nobody touched lately."""
    rows = await conn.fetch(
        """
        DELETE FROM blobs
        WHERE sha256 IN (
            SELECT b.sha256
            FROM blobs b
            WHERE b.touched_at < now() - make_interval(secs => $1)
              AND NOT EXISTS (SELECT 1 FROM texts t WHERE t.sha256 = b.sha256)
              AND NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
              AND NOT EXISTS (SELECT 1 FROM images i WHERE i.sha256 = b.sha256)
              AND NOT EXISTS (SELECT 1 FROM images i WHERE i.thumb_sha256 = b.sha256)
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        RETURNING sha256
        """,
        grace_seconds,
        limit,
    )
    return [row["sha256"] for row in rows]


async def blob_totals(conn: Queryable) -> asyncpg.Record:
    """How many blobs there are and their total size, and the database's clock (`at`) then."""
    return await conn.fetchrow(
        """
        SELECT now() AS at, count(*) AS blobs, COALESCE(sum(size), 0)::bigint AS bytes
        FROM blobs
        """
    )


async def blob_keys_after(
    conn: Queryable,
    after: str,
    limit: int,
    touched_since: datetime | None = None,
) -> list[str]:
    """One page of blob keys in order, after `after` (keyset), optionally only recent ones."""
    rows = await conn.fetch(
        """
        SELECT sha256
        FROM blobs
        WHERE sha256 > $1
          AND ($3::timestamptz IS NULL OR touched_at >= $3)
        ORDER BY sha256
        LIMIT $2
        """,
        after,
        limit,
        touched_since,
    )
    return [row["sha256"] for row in rows]


async def items_using_blobs(conn: Queryable, shas: Sequence[str]) -> list[asyncpg.Record]:
    """(sha256, content_id) for every item whose bytes or thumbnail are one of these blobs."""
    return await conn.fetch(
        """
        SELECT sha256, content_id
        FROM texts
        WHERE sha256 = ANY($1::text[])
        UNION ALL
        SELECT sha256, content_id
        FROM files
        WHERE sha256 = ANY($1::text[])
        UNION ALL
        SELECT sha256, content_id
        FROM images
        WHERE sha256 = ANY($1::text[])
        UNION ALL
        SELECT thumb_sha256, content_id
        FROM images
        WHERE thumb_sha256 = ANY($1::text[])
        ORDER BY 1, 2
        """,
        shas,
    )


# ---- Discord: guild settings, expiry reminders, extending -----------------------------------

GUILD_SETTINGS_COLUMNS = """
    guild_id, auto_paste_channels, auto_paste_min_lines, auto_paste_delete, default_expiry,
    allowed_kinds::text[] AS allowed_kinds, upload_limit
"""
