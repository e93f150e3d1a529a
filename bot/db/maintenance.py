"""SQL for `refbin check`: the blob rows with whether an item uses them, and the subtype rule."""

from __future__ import annotations

import asyncpg

from bot.db.pool import Queryable


async def blob_rows_after(conn: Queryable, after: str, limit: int) -> list[asyncpg.Record]:
    """One page of blob rows in key order: sha256, size, touched_at, and whether it is used."""
    return await conn.fetch(
        """
        SELECT b.sha256, b.size, b.touched_at,
               (EXISTS (SELECT 1 FROM texts t WHERE t.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM images i WHERE i.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM images i WHERE i.thumb_sha256 = b.sha256)) AS used
        FROM blobs b
        WHERE b.sha256 > $1
        ORDER BY b.sha256
        LIMIT $2
        """,
        after,
        limit,
    )


async def subtype_violations(conn: Queryable, limit: int) -> list[asyncpg.Record]:
    """refs rows without exactly one subtype row of their own kind (the schema forbids them)."""
    return await conn.fetch(
        """
        SELECT content_id, kind, found
        FROM (
            SELECT r.content_id, r.kind::text AS kind,
                   (u.content_id IS NOT NULL)::int + (t.content_id IS NOT NULL)::int
                   + (i.content_id IS NOT NULL)::int + (f.content_id IS NOT NULL)::int AS found,
                   CASE r.kind
                       WHEN 'url' THEN u.content_id IS NOT NULL
                       WHEN 'text' THEN t.content_id IS NOT NULL
                       WHEN 'image' THEN i.content_id IS NOT NULL
                       WHEN 'file' THEN f.content_id IS NOT NULL
                   END AS own
            FROM refs r
            LEFT JOIN urls u ON u.content_id = r.content_id
            LEFT JOIN texts t ON t.content_id = r.content_id
            LEFT JOIN images i ON i.content_id = r.content_id
            LEFT JOIN files f ON f.content_id = r.content_id
        ) s
        WHERE found <> 1 OR NOT own
        ORDER BY content_id
        LIMIT $1
        """,
        limit,
    )


async def item_and_blob_counts(conn: Queryable) -> asyncpg.Record:
    """How many items (refs rows) and blob rows there are, and the database's clock."""
    return await conn.fetchrow(
        """
        SELECT now() AS at,
               (SELECT count(*) FROM refs) AS items,
               (SELECT count(*) FROM blobs) AS blobs
        """
    )
