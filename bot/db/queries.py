"""Every SQL statement the content service runs, parametrised; each takes its connection."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta

import asyncpg

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
        SELECT language, line_count, sha256, filename
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
    """An Item from a row of ITEM_COLUMNS, positionally (a dict and keywords cost 3x as much).

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
    return Item(*values)


async def fetch_item(conn: asyncpg.Connection | asyncpg.Pool, content_id: str) -> Item | None:
    row = await conn.fetchrow(
        f"""
        SELECT {ITEM_COLUMNS}
        FROM {ITEM_FROM}
        WHERE r.content_id = $1
        """,
        content_id,
    )
    return item_from_row(row) if row else None


async def load_or_create_secret(conn: asyncpg.Connection, fresh: bytes) -> bytes:
    """The instance secret: `fresh` is stored if there is none yet."""
    await conn.execute(
        """
        INSERT INTO instance (singleton, secret)
        VALUES (TRUE, $1)
        ON CONFLICT (singleton) DO NOTHING
        """,
        fresh,
    )
    return await conn.fetchval("SELECT secret FROM instance")


async def touch_blob(conn: asyncpg.Connection, sha256: str, size: int, media_type: str) -> None:
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
) -> None:
    await conn.execute(
        """
        INSERT INTO texts (content_id, sha256, language, line_count, filename)
        VALUES ($1, $2, $3, $4, $5)
        """,
        content_id,
        sha256,
        language,
        line_count,
        filename,
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


async def take_view(conn: asyncpg.Connection | asyncpg.Pool, content_id: str) -> bool:
    """Count one view of a view-limited item, atomically; False when none is left."""
    taken = await conn.fetchval(
        """
        UPDATE refs
        SET views = views + 1
        WHERE content_id = $1
          AND views < max_views
          AND (expires_at IS NULL OR expires_at > now())
        RETURNING TRUE
        """,
        content_id,
    )
    return bool(taken)


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


async def delete_ref(conn: asyncpg.Connection, content_id: str) -> bool:
    return bool(
        await conn.fetchval("DELETE FROM refs WHERE content_id = $1 RETURNING TRUE", content_id)
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


async def list_owned(
    conn: asyncpg.Connection | asyncpg.Pool,
    owner_id: int,
    kind: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Item]:
    """An owner's items, newest first, after a keyset position (created_at, content_id).

    Two statements: the page's ids from the listing index alone, then those items. Each has a
    small generic plan that PostgreSQL keeps; the single joined statement had none (at
    10,000,000 items it was planned afresh on every call, 1.6 ms; see bench/results.md). An item
    deleted between the two is noticed and the page read again, so a page is never short.
    """
    for _attempt in range(3):
        rows = await conn.fetch(
            """
            SELECT content_id
            FROM refs
            WHERE owner_id = $1
              AND ($2::ref_kind IS NULL OR kind = $2::ref_kind)
              AND (created_at, content_id)
                  < (COALESCE($3::timestamptz, 'infinity'), COALESCE($4::text, ''))
            ORDER BY created_at DESC, content_id DESC
            LIMIT $5
            """,
            owner_id,
            kind,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        ids = [row["content_id"] for row in rows]
        found = {item.content_id: item for item in await fetch_items(conn, ids)}
        if len(found) == len(ids):
            break
    return [found[content_id] for content_id in ids if content_id in found]


async def owner_for_discord_user(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: int, name: str
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO owners (discord_user_id, name)
        VALUES ($1, $2)
        ON CONFLICT (discord_user_id) DO UPDATE
        SET name = EXCLUDED.name
        RETURNING owner_id
        """,
        user_id,
        name[:200] or str(user_id),
    )


async def create_owner(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    return await conn.fetchval(
        "INSERT INTO owners (name) VALUES ($1) RETURNING owner_id", name[:200]
    )


async def insert_api_token(
    conn: asyncpg.Connection | asyncpg.Pool, owner_id: int, name: str, token_hash: bytes
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO api_tokens (owner_id, name, token_hash)
        VALUES ($1, $2, $3)
        RETURNING token_id
        """,
        owner_id,
        name,
        token_hash,
    )


async def owner_for_token(conn: asyncpg.Connection | asyncpg.Pool, token_hash: bytes) -> int | None:
    return await conn.fetchval(
        """
        SELECT owner_id
        FROM api_tokens
        WHERE token_hash = $1
          AND revoked_at IS NULL
        """,
        token_hash,
    )


async def revoke_api_tokens(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    rows = await conn.fetch(
        """
        UPDATE api_tokens
        SET revoked_at = now()
        WHERE name = $1
          AND revoked_at IS NULL
        RETURNING token_id
        """,
        name,
    )
    return len(rows)


async def fetch_password_hash(
    conn: asyncpg.Connection | asyncpg.Pool, content_id: str
) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM refs WHERE content_id = $1", content_id)


async def visits_per_day(
    conn: asyncpg.Connection | asyncpg.Pool, content_id: str, days: int
) -> list[asyncpg.Record]:
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
    conn: asyncpg.Connection | asyncpg.Pool, content_id: str, days: int, limit: int
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


async def owner_usage(conn: asyncpg.Connection | asyncpg.Pool, owner_id: int) -> int:
    """Bytes an owner's items take, each item counted in full (sharing is not the owner's doing)."""
    return await conn.fetchval(
        f"""
        SELECT COALESCE(sum(b.size), 0)::bigint
        FROM {ITEM_FROM}
        WHERE r.owner_id = $1
        """,
        owner_id,
    )


async def set_blocked(
    conn: asyncpg.Connection | asyncpg.Pool, content_id: str, reason: str | None
) -> bool:
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


async def fetch_items(
    conn: asyncpg.Connection | asyncpg.Pool, content_ids: Sequence[str]
) -> list[Item]:
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


async def notify_invalidate(conn: asyncpg.Connection | asyncpg.Pool, content_id: str) -> None:
    """Tell every process's item cache that an item changed (sent when the transaction commits)."""
    await conn.execute("SELECT pg_notify('refbin_invalidate', $1)", content_id)


# ---- moving blobs between stores (`refbin storage copy`) -----------------------------------


async def database_now(conn: asyncpg.Connection | asyncpg.Pool) -> datetime:
    """The database's clock, to compare with the times it wrote."""
    return await conn.fetchval("SELECT now()")


async def blob_totals(conn: asyncpg.Connection | asyncpg.Pool) -> asyncpg.Record:
    """How many blobs there are and their total size."""
    return await conn.fetchrow(
        """
        SELECT count(*) AS blobs, COALESCE(sum(size), 0)::bigint AS bytes
        FROM blobs
        """
    )


async def blob_keys_after(
    conn: asyncpg.Connection | asyncpg.Pool,
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


async def items_using_blobs(
    conn: asyncpg.Connection | asyncpg.Pool, shas: Sequence[str]
) -> list[asyncpg.Record]:
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


async def fetch_guild_settings(
    conn: asyncpg.Connection | asyncpg.Pool, guild_id: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""
        SELECT {GUILD_SETTINGS_COLUMNS}
        FROM guild_settings
        WHERE guild_id = $1
        """,
        guild_id,
    )


async def upsert_guild_settings(
    conn: asyncpg.Connection | asyncpg.Pool,
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


async def claim_due_reminders(
    conn: asyncpg.Connection | asyncpg.Pool, now: datetime, window: timedelta, limit: int
) -> list[asyncpg.Record]:
    """Mark, and return, live items of Discord owners (with reminders on) that expire within
    `window` of `now` and were not reminded in this life. One statement: the claim and the
    mark commit together, and concurrent claimers skip each other's rows."""
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
    )


async def release_reminder(conn: asyncpg.Connection | asyncpg.Pool, content_id: str) -> None:
    """Make a claimed reminder due again (its sending failed for a reason that may pass)."""
    await conn.execute("UPDATE refs SET reminded_at = NULL WHERE content_id = $1", content_id)


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


async def set_owner_reminders(
    conn: asyncpg.Connection | asyncpg.Pool, owner_id: int, enabled: bool
) -> None:
    await conn.execute("UPDATE owners SET reminders = $2 WHERE owner_id = $1", owner_id, enabled)


async def ping(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """A round trip to the database, for health checks."""
    await conn.fetchval("SELECT 1")
