"""Views and visits: a view-limited item's atomic count, the batched counts, the stats."""

from __future__ import annotations

import asyncpg

from bot.db.pool import Queryable


async def take_view(conn: Queryable, content_id: str) -> int | None:
    """Count one view of a view-limited item, atomically: the views counted with this one, or
    None when none was left."""
    return await conn.fetchval(
        """
        UPDATE refs
        SET views = views + 1
        WHERE content_id = $1
          AND views < max_views
          AND (expires_at IS NULL OR expires_at > now())
        RETURNING views
        """,
        content_id,
    )


async def add_views(conn: asyncpg.Connection, ids: list[str], counts: list[int]) -> None:
    """Add batched view counts with one statement."""
    await conn.execute(
        """
        UPDATE refs
        SET views = refs.views + batch.n
        FROM unnest($1::text[], $2::bigint[]) AS batch (content_id, n)
        WHERE refs.content_id = batch.content_id
        """,
        ids,
        counts,
    )


async def add_visits(
    conn: asyncpg.Connection,
    ids: list[str],
    days: list[object],
    referrers: list[str],
    counts: list[int],
) -> None:
    """Add batched per-day visit counts with one statement; items deleted meanwhile are skipped."""
    await conn.execute(
        """
        INSERT INTO visits (content_id, day, referrer, count)
        SELECT batch.content_id, batch.day, batch.referrer, batch.n
        FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[])
            AS batch (content_id, day, referrer, n)
        JOIN refs ON refs.content_id = batch.content_id
        ON CONFLICT (content_id, day, referrer) DO UPDATE
        SET count = visits.count + EXCLUDED.count
        """,
        ids,
        days,
        referrers,
        counts,
    )


async def visits_per_day(conn: Queryable, content_id: str, days: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT day, sum(count)::bigint AS count
        FROM visits
        WHERE content_id = $1
          AND day > current_date - $2::int
        GROUP BY day
        ORDER BY day
        """,
        content_id,
        days,
    )


async def top_referrers(
    conn: Queryable, content_id: str, days: int, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT referrer, sum(count)::bigint AS count
        FROM visits
        WHERE content_id = $1
          AND day > current_date - $2::int
        GROUP BY referrer
        ORDER BY count DESC, referrer
        LIMIT $3
        """,
        content_id,
        days,
        limit,
    )
