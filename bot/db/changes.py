"""Changes an owner makes to their items: expiry, view limit, visibility, password, and the same
to many items at once (rows locked in id order, so two bulk changes never deadlock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from bot.db.invalidation import CHANNEL
from bot.models import KEEP, Keep

# What decides a change: whose the item is, what it has now, and whether it is gone (expired or
# viewed as often as allowed), by the database's clock as the sweep reads it.
_STATE = """
    content_id, owner_id, expires_at, max_views, views,
    (expires_at IS NOT NULL AND expires_at <= now())
    OR (max_views IS NOT NULL AND views >= max_views) AS gone
"""


@dataclass(frozen=True)
class ItemState:
    """What decides a change to an item, as its locked row has it now."""

    content_id: str
    owner_id: int | None
    expires_at: datetime | None
    max_views: int | None
    views: int
    gone: bool


async def lock_items(conn: asyncpg.Connection, content_ids: Sequence[str]) -> list[ItemState]:
    """The state of the items among `content_ids` that exist, each row locked until commit."""
    rows = await conn.fetch(
        f"""
        SELECT {_STATE}
        FROM refs
        WHERE content_id = ANY($1::text[])
        ORDER BY content_id
        FOR UPDATE
        """,
        list(content_ids),
    )
    return [ItemState(*row) for row in rows]


async def change_item(
    conn: asyncpg.Connection,
    content_id: str,
    *,
    expires_at: datetime | None | Keep = KEEP,
    max_views: int | None | Keep = KEEP,
    visibility: str | Keep = KEEP,
    password_hash: str | None | Keep = KEEP,
) -> None:
    """Set the fields given (None removes an expiry, a view limit or a password); the others
    stay. A new expiry makes the item's reminder due again."""
    await conn.execute(
        """
        UPDATE refs
        SET expires_at = CASE WHEN $2 THEN $3 ELSE expires_at END,
            reminded_at = CASE WHEN $2 THEN NULL ELSE reminded_at END,
            max_views = CASE WHEN $4 THEN $5 ELSE max_views END,
            visibility = COALESCE($6::visibility, visibility),
            password_hash = CASE WHEN $7 THEN $8 ELSE password_hash END
        WHERE content_id = $1
        """,
        content_id,
        expires_at is not KEEP,
        None if expires_at is KEEP else expires_at,
        max_views is not KEEP,
        None if max_views is KEEP else max_views,
        None if visibility is KEEP else visibility,
        password_hash is not KEEP,
        None if password_hash is KEEP else password_hash,
    )


async def set_expiries(
    conn: asyncpg.Connection, content_ids: Sequence[str], expiries: Sequence[datetime]
) -> None:
    """New expiries for many items (pairwise), each making its reminder due again."""
    await conn.execute(
        """
        UPDATE refs
        SET expires_at = changed.expires_at, reminded_at = NULL
        FROM unnest($1::text[], $2::timestamptz[]) AS changed (content_id, expires_at)
        WHERE refs.content_id = changed.content_id
        """,
        list(content_ids),
        list(expiries),
    )


async def set_visibility(
    conn: asyncpg.Connection, content_ids: Sequence[str], visibility: str
) -> None:
    await conn.execute(
        "UPDATE refs SET visibility = $2 WHERE content_id = ANY($1::text[])",
        list(content_ids),
        visibility,
    )


async def delete_items(conn: asyncpg.Connection, content_ids: Sequence[str]) -> None:
    await conn.execute("DELETE FROM refs WHERE content_id = ANY($1::text[])", list(content_ids))


async def notify_invalidate_many(conn: asyncpg.Connection, content_ids: Sequence[str]) -> None:
    """notify_invalidate for many items in one statement (sent when the transaction commits)."""
    await conn.execute(
        "SELECT pg_notify($1, content_id) FROM unnest($2::text[]) AS content_id",
        CHANNEL,
        list(content_ids),
    )
