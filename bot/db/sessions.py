"""Web sessions: one row per signed-in browser, found by the sha256 of its cookie's value."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from bot.db.pool import Queryable


async def insert_session(
    conn: Queryable,
    *,
    token_hash: bytes,
    owner_id: int,
    idle: timedelta,
    client: str,
    network: str,
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO sessions (token_hash, owner_id, expires_at, client, network)
        VALUES ($1, $2, now() + $3::interval, $4, $5)
        RETURNING session_id
        """,
        token_hash,
        owner_id,
        idle,
        client[:100],
        network[:50],
    )


async def fetch_session(conn: Queryable, token_hash: bytes) -> asyncpg.Record | None:
    """The live session with this hash, its owner, and how long since it was last renewed."""
    return await conn.fetchrow(
        """
        SELECT s.session_id, s.owner_id, o.discord_user_id, o.name,
               now() - s.last_seen_at AS unseen_for
        FROM sessions s
        JOIN owners o ON o.owner_id = s.owner_id
        WHERE s.token_hash = $1
          AND s.expires_at > now()
        """,
        token_hash,
    )


async def renew_session(conn: Queryable, session_id: int, idle: timedelta) -> None:
    await conn.execute(
        """
        UPDATE sessions
        SET last_seen_at = now(),
            expires_at = now() + $2::interval
        WHERE session_id = $1
        """,
        session_id,
        idle,
    )


async def list_sessions(conn: Queryable, owner_id: int) -> list[asyncpg.Record]:
    """An owner's live sessions, the most recently used first."""
    return await conn.fetch(
        """
        SELECT session_id, token_hash, created_at, last_seen_at, expires_at, client, network
        FROM sessions
        WHERE owner_id = $1
          AND expires_at > now()
        ORDER BY last_seen_at DESC, session_id DESC
        """,
        owner_id,
    )


async def delete_session(conn: Queryable, owner_id: int, session_id: int) -> bool:
    """End one of an owner's sessions; False when the owner has no such session."""
    deleted = await conn.fetchval(
        """
        DELETE FROM sessions
        WHERE session_id = $1
          AND owner_id = $2
        RETURNING TRUE
        """,
        session_id,
        owner_id,
    )
    return bool(deleted)


async def delete_session_by_hash(conn: Queryable, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = $1", token_hash)


async def delete_sessions_of(conn: Queryable, owner_id: int) -> int:
    """End every session of an owner; how many there were."""
    rows = await conn.fetch(
        """
        DELETE FROM sessions
        WHERE owner_id = $1
        RETURNING session_id
        """,
        owner_id,
    )
    return len(rows)


async def delete_lapsed_sessions(conn: Queryable, limit: int) -> int:
    """Remove up to `limit` sessions past their expiry; how many were removed."""
    rows = await conn.fetch(
        """
        DELETE FROM sessions
        WHERE session_id IN (
            SELECT session_id
            FROM sessions
            WHERE expires_at <= now()
            LIMIT $1
        )
        RETURNING session_id
        """,
        limit,
    )
    return len(rows)
