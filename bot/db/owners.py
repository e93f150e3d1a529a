"""Owners (a Discord user, or an API user) and their API tokens and storage use."""

from __future__ import annotations

from bot.db.items import ITEM_FROM
from bot.db.pool import Queryable
from bot.models import ApiToken


async def owner_for_discord_user(conn: Queryable, user_id: int, name: str) -> int:
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


async def create_owner(conn: Queryable, name: str) -> int:
    return await conn.fetchval(
        "INSERT INTO owners (name) VALUES ($1) RETURNING owner_id", name[:200]
    )


async def insert_api_token(
    conn: Queryable, owner_id: int, name: str, token_hash: bytes
) -> int | None:
    """The new token's id; None when a live token already has this name."""
    return await conn.fetchval(
        """
        INSERT INTO api_tokens (owner_id, name, token_hash)
        VALUES ($1, $2, $3)
        ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
        RETURNING token_id
        """,
        owner_id,
        name,
        token_hash,
    )


async def owner_for_token(conn: Queryable, token_hash: bytes) -> int | None:
    return await conn.fetchval(
        """
        SELECT owner_id
        FROM api_tokens
        WHERE token_hash = $1
          AND revoked_at IS NULL
        """,
        token_hash,
    )


async def touch_api_token(conn: Queryable, token_hash: bytes) -> None:
    """Note that a live token was used just now."""
    await conn.execute(
        """
        UPDATE api_tokens
        SET last_used_at = now()
        WHERE token_hash = $1
          AND revoked_at IS NULL
        """,
        token_hash,
    )


async def live_api_tokens(conn: Queryable) -> list[ApiToken]:
    """Every token not revoked, by name; never the token, which is not stored."""
    rows = await conn.fetch(
        """
        SELECT name, created_at, last_used_at
        FROM api_tokens
        WHERE revoked_at IS NULL
        ORDER BY name
        """
    )
    return [ApiToken(row["name"], row["created_at"], row["last_used_at"]) for row in rows]


async def revoke_api_tokens(conn: Queryable, name: str) -> int:
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


async def owner_usage(conn: Queryable, owner_id: int) -> int:
    """Bytes an owner's items take, each item counted in full (sharing is not the owner's doing)."""
    return await conn.fetchval(
        f"""
        SELECT COALESCE(sum(b.size), 0)::bigint
        FROM {ITEM_FROM}
        WHERE r.owner_id = $1
        """,
        owner_id,
    )
