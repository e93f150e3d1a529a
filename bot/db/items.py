"""Items: the refs row and its subtype row, written, read, listed, expired and removed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

import asyncpg

from bot.db.pool import Queryable
from bot.models import KINDS, VISIBILITIES, Item

# The columns of an Item, in the order of its fields (item_from_row builds it positionally), from
# refs joined with whichever subtype row the item has.
ITEM_COLUMNS = """
    r.content_id, r.kind::text AS kind, r.owner_id, r.guild_id, r.visibility::text AS visibility,
    r.created_at, r.expires_at, r.max_views, r.views, r.password_hash IS NOT NULL AS has_password,
    r.blocked_reason,
    u.target, t.language, t.line_count,
    COALESCE(t.sha256, i.sha256, f.sha256) AS sha256,
    b.size, b.media_type,
    COALESCE(t.filename, i.filename, f.filename) AS filename,
    i.width, i.height, i.thumb_sha256
"""
# Each subtype table is read only for the items of its kind: the `r.kind = ...` test inside a
# LATERAL subquery that PostgreSQL cannot flatten (LIMIT 1) becomes a one-time filter in front
# of the subtype's index scan, so a link costs the refs and urls probes and nothing else. A plain
# LEFT JOIN of all four probed every subtype index for every id: 16 buffers per link instead of
# 8, and 27 against 18 us of PostgreSQL CPU per id in a batch of 64 (1,000,000 links).
ITEM_FROM = """
    refs r
    LEFT JOIN LATERAL (
        SELECT target FROM urls WHERE content_id = r.content_id AND r.kind = 'url' LIMIT 1
    ) u ON TRUE
    LEFT JOIN LATERAL (
        SELECT language, line_count, sha256, filename, first_line
        FROM texts WHERE content_id = r.content_id AND r.kind = 'text' LIMIT 1
    ) t ON TRUE
    LEFT JOIN LATERAL (
        SELECT sha256, width, height, thumb_sha256, filename
        FROM images WHERE content_id = r.content_id AND r.kind = 'image' LIMIT 1
    ) i ON TRUE
    LEFT JOIN LATERAL (
        SELECT sha256, filename
        FROM files WHERE content_id = r.content_id AND r.kind = 'file' LIMIT 1
    ) f ON TRUE
    LEFT JOIN blobs b ON b.sha256 = COALESCE(t.sha256, i.sha256, f.sha256)
"""
# Columns whose few distinct values are shared by every item that has them, not copied per row.
_SHARED: dict[str, str] = {value: value for value in (*KINDS, *VISIBILITIES)}
_FIELDS = [field.name for field in fields(Item)]
_KIND, _VISIBILITY = _FIELDS.index("kind"), _FIELDS.index("visibility")
_LANGUAGE, _MEDIA_TYPE = _FIELDS.index("language"), _FIELDS.index("media_type")


def item_from_row(row: asyncpg.Record) -> Item:
    """An Item from a row of ITEM_COLUMNS, positionally (a dict and keywords cost 3x as much)."""
    return Item(*item_values(row))


def item_values(row: asyncpg.Record) -> list[object]:
    """A row's values in Item's field order (and any columns after ITEM_COLUMNS after them).

    The enum values are replaced by shared constants, and media types and languages interned:
    about 100 bytes less per cached item, for a dict lookup each.
    """
    values = list(row)
    values[_KIND] = _SHARED[values[_KIND]]
    values[_VISIBILITY] = _SHARED[values[_VISIBILITY]]
    if values[_LANGUAGE] is not None:
        values[_LANGUAGE] = sys.intern(values[_LANGUAGE])
    if values[_MEDIA_TYPE] is not None:
        values[_MEDIA_TYPE] = sys.intern(values[_MEDIA_TYPE])
    return values


async def fetch_item(conn: Queryable, content_id: str) -> Item | None:
    row = await conn.fetchrow(
        f"""
        SELECT {ITEM_COLUMNS}
        FROM {ITEM_FROM}
        WHERE r.content_id = $1
        """,
        content_id,
    )
    return item_from_row(row) if row else None


async def fetch_items(conn: Queryable, content_ids: Sequence[str]) -> list[Item]:
    """The items among `content_ids` that exist, in no particular order (one query for many).

    The array is read through a subquery so that the plan cannot depend on its length: with
    `= ANY($1)` PostgreSQL prices a custom plan for each batch, finds it cheaper than the generic
    one for a handful of ids, and so plans again on every call (0.2 to 0.3 ms of its CPU per batch
    of 1 to 8 ids, which is what a light load sends). Hidden in an InitPlan, the estimate is the
    same for every call and the generic plan (index probes, as before) is kept.
    """
    rows = await conn.fetch(
        f"""
        SELECT {ITEM_COLUMNS}
        FROM {ITEM_FROM}
        WHERE r.content_id = ANY((SELECT $1::text[])::text[])
        """,
        content_ids,
    )
    return [item_from_row(row) for row in rows]


async def insert_ref(
    conn: asyncpg.Connection,
    *,
    content_id: str,
    kind: str,
    digest: bytes,
    owner_id: int | None,
    guild_id: int | None,
    visibility: str,
    expires_at: datetime | None,
    max_views: int | None,
    delete_token_hash: bytes,
    password_hash: str | None,
) -> bool:
    """Insert a refs row; False when the id is taken."""
    inserted = await conn.fetchval(
        """
        INSERT INTO refs (content_id, kind, digest, owner_id, guild_id, visibility,
                          expires_at, max_views, delete_token_hash, password_hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (content_id) DO NOTHING
        RETURNING TRUE
        """,
        content_id,
        kind,
        digest,
        owner_id,
        guild_id,
        visibility,
        expires_at,
        max_views,
        delete_token_hash,
        password_hash,
    )
    return bool(inserted)


async def fetch_identity(conn: asyncpg.Connection, content_id: str) -> asyncpg.Record | None:
    """What decides whether an id holds the same content: kind, owner, digest, and liveness."""
    return await conn.fetchrow(
        """
        SELECT kind::text AS kind, owner_id, digest,
               (expires_at IS NOT NULL AND expires_at <= now())
               OR (max_views IS NOT NULL AND views >= max_views) AS gone
        FROM refs
        WHERE content_id = $1
        FOR UPDATE
        """,
        content_id,
    )


async def renew_ref(
    conn: asyncpg.Connection,
    content_id: str,
    *,
    visibility: str,
    expires_at: datetime | None,
    max_views: int | None,
    delete_token_hash: bytes,
    password_hash: str | None,
) -> None:
    """Give an expired or used-up item a new life with the options of the new add."""
    await conn.execute(
        """
        UPDATE refs
        SET visibility = $2, created_at = now(), expires_at = $3, max_views = $4, views = 0,
            delete_token_hash = $5, password_hash = $6
        WHERE content_id = $1
        """,
        content_id,
        visibility,
        expires_at,
        max_views,
        delete_token_hash,
        password_hash,
    )


async def insert_url(conn: asyncpg.Connection, content_id: str, target: str) -> None:
    await conn.execute("INSERT INTO urls (content_id, target) VALUES ($1, $2)", content_id, target)


async def insert_text(
    conn: asyncpg.Connection,
    content_id: str,
    sha256: str,
    language: str,
    line_count: int,
    filename: str | None,
    first_line: str | None = None,
) -> None:
    await conn.execute(
        """
        INSERT INTO texts (content_id, sha256, language, line_count, filename, first_line)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        content_id,
        sha256,
        language,
        line_count,
        filename,
        first_line,
    )


async def insert_image(
    conn: asyncpg.Connection,
    content_id: str,
    sha256: str,
    width: int,
    height: int,
    thumb_sha256: str,
    filename: str | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO images (content_id, sha256, width, height, thumb_sha256, filename)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        content_id,
        sha256,
        width,
        height,
        thumb_sha256,
        filename,
    )


async def insert_file(
    conn: asyncpg.Connection, content_id: str, sha256: str, filename: str | None
) -> None:
    await conn.execute(
        "INSERT INTO files (content_id, sha256, filename) VALUES ($1, $2, $3)",
        content_id,
        sha256,
        filename,
    )


async def fetch_password_hash(conn: Queryable, content_id: str) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM refs WHERE content_id = $1", content_id)


async def set_blocked(conn: Queryable, content_id: str, reason: str | None) -> bool:
    """Block (with a reason) or unblock (None) an item; False when there is no such item."""
    updated = await conn.fetchval(
        """
        UPDATE refs
        SET blocked_reason = $2
        WHERE content_id = $1
        RETURNING TRUE
        """,
        content_id,
        reason,
    )
    return bool(updated)


async def fetch_expiry_for_update(
    conn: asyncpg.Connection, content_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT owner_id, expires_at
        FROM refs
        WHERE content_id = $1
        FOR UPDATE
        """,
        content_id,
    )


async def set_expiry(conn: asyncpg.Connection, content_id: str, expires_at: datetime) -> None:
    """A new expiry, which also makes the item's reminder due again."""
    await conn.execute(
        """
        UPDATE refs
        SET expires_at = $2, reminded_at = NULL
        WHERE content_id = $1
        """,
        content_id,
        expires_at,
    )


async def fetch_delete_rights(conn: asyncpg.Connection, content_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT owner_id, guild_id, delete_token_hash
        FROM refs
        WHERE content_id = $1
        FOR UPDATE
        """,
        content_id,
    )


async def delete_ref(conn: asyncpg.Connection, content_id: str) -> bool:
    return bool(
        await conn.fetchval("DELETE FROM refs WHERE content_id = $1 RETURNING TRUE", content_id)
    )


async def delete_expired(conn: asyncpg.Connection, limit: int) -> list[str]:
    """Remove up to `limit` expired or used-up items; two sweepers never take the same ones."""
    rows = await conn.fetch(
        """
        DELETE FROM refs
        WHERE content_id IN (
            SELECT content_id
            FROM refs
            WHERE expires_at <= now()
            ORDER BY expires_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING content_id
        """,
        limit,
    )
    used_up = await conn.fetch(
        """
        DELETE FROM refs
        WHERE content_id IN (
            SELECT content_id
            FROM refs
            WHERE max_views IS NOT NULL AND views >= max_views
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING content_id
        """,
        limit,
    )
    return [row["content_id"] for row in rows] + [row["content_id"] for row in used_up]
