"""The instance itself: its secret, and whether its database answers."""

from __future__ import annotations

import asyncpg

from bot.db.pool import Queryable


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


async def ping(conn: Queryable) -> None:
    """A round trip to the database, for health checks."""
    await conn.fetchval("SELECT 1")
