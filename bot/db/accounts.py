"""What the web shows a signed-in owner and the operator: an owner's API tokens, every owner
with their usage, every item."""

from __future__ import annotations

import asyncpg

from bot.db.items import ITEM_FROM
from bot.db.pool import Queryable


async def list_tokens(conn: Queryable, owner_id: int) -> list[asyncpg.Record]:
    """An owner's live API tokens, the newest first (never the token: only its name)."""
    return await conn.fetch(
        """
        SELECT token_id, name, created_at
        FROM api_tokens
        WHERE owner_id = $1
          AND revoked_at IS NULL
        ORDER BY created_at DESC, token_id DESC
        """,
        owner_id,
    )


async def revoke_token(conn: Queryable, owner_id: int, token_id: int) -> bool:
    """Revoke one of an owner's tokens; False when the owner has no such live token."""
    revoked = await conn.fetchval(
        """
        UPDATE api_tokens
        SET revoked_at = now()
        WHERE token_id = $1
          AND owner_id = $2
          AND revoked_at IS NULL
        RETURNING TRUE
        """,
        token_id,
        owner_id,
    )
    return bool(revoked)


async def list_owners(conn: Queryable, before: int | None, limit: int) -> list[asyncpg.Record]:
    """Owners, the newest first, after a keyset position (an owner id), each with how many
    items they have and the bytes those take (each item counted in full, as the quota does).
    The usage is counted for this page's owners only, through their listing index."""
    return await conn.fetch(
        f"""
        SELECT o.owner_id, o.name, o.discord_user_id, o.created_at, u.items, u.bytes
        FROM owners o
        CROSS JOIN LATERAL (
            SELECT count(*) AS items, COALESCE(sum(b.size), 0)::bigint AS bytes
            FROM {ITEM_FROM}
            WHERE r.owner_id = o.owner_id
        ) u
        WHERE o.owner_id < COALESCE($1::bigint, 9223372036854775807)
        ORDER BY o.owner_id DESC
        LIMIT $2
        """,
        before,
        limit,
    )
