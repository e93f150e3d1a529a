"""sql/005_token_names.sql on the real migration chain: live token names are unique, tokens that
shared one before keep working under names of their own, and a token's last use has a column."""

from __future__ import annotations

import hashlib

import asyncpg
import pytest

from bot.db import load_migrations, migrate
from tests.conftest import PostgresServer, cloned_database


def _hash(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def _add_token(conn: asyncpg.Connection, name: str, *, revoked: bool = False) -> int:
    owner_id = await conn.fetchval("INSERT INTO owners (name) VALUES ($1) RETURNING owner_id", name)
    return await conn.fetchval(
        """
        INSERT INTO api_tokens (owner_id, name, token_hash, revoked_at)
        VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)
        RETURNING token_id
        """,
        owner_id,
        name,
        _hash(f"{name} {owner_id}"),
        revoked,
    )


async def test_tokens_that_shared_a_live_name_keep_working_under_names_of_their_own(
    postgres: PostgresServer,
) -> None:
    async with cloned_database(postgres, "template0", "refbin_chain") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, [m for m in load_migrations() if m.version < 5])
            first = await _add_token(conn, "alice")
            second = await _add_token(conn, "alice")
            revoked = await _add_token(conn, "alice", revoked=True)
            bob = await _add_token(conn, "bob")

            await migrate(conn)

            rows = await conn.fetch(
                "SELECT token_id, name, revoked_at IS NULL AS live, last_used_at FROM api_tokens"
            )
            names = {row["token_id"]: (row["name"], row["live"]) for row in rows}
            assert names == {
                first: ("alice", True),
                second: (f"alice #{second}", True),
                revoked: ("alice", False),
                bob: ("bob", True),
            }
            assert all(row["last_used_at"] is None for row in rows)
            with pytest.raises(asyncpg.UniqueViolationError):
                await _add_token(conn, "bob")
            await _add_token(conn, "bob", revoked=True)  # revoked names may repeat
        finally:
            await conn.close()
