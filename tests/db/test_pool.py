"""The pools report a PostgreSQL they cannot reach as the domain's Unavailable, and only that:
a query's own error, or the caller's, keeps its type."""

from __future__ import annotations

import asyncpg
import pytest

from bot.db import Pool, create_pool
from bot.errors import Unavailable
from bot.runtime import Runtime
from tests.helpers import free_port


async def test_a_server_that_refuses_connections_is_unavailable() -> None:
    raw = await create_pool(f"postgresql://refbin@127.0.0.1:{free_port()}/refbin", 0, 2)
    pool = Pool(raw)
    try:
        with pytest.raises(Unavailable) as caught:
            await pool.fetchval("SELECT 1")
        assert isinstance(caught.value.__cause__, OSError)
        with pytest.raises(Unavailable):
            async with pool.acquire():
                pass
    finally:
        await raw.close()


async def test_a_connection_that_dies_inside_a_block_is_unavailable(runtime: Runtime) -> None:
    pool = runtime.db.pool

    with pytest.raises(Unavailable) as caught:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await pool.execute("SELECT pg_terminate_backend($1)", pid)
            await conn.fetchval("SELECT 1")

    assert caught.value.__cause__ is not None  # asyncpg's own error, kept for the log
    assert await pool.fetchval("SELECT 1") == 1  # the pool goes on with a new connection


async def test_errors_that_are_not_about_reaching_the_server_keep_their_type(
    runtime: Runtime,
) -> None:
    pool = runtime.db.pool

    with pytest.raises(asyncpg.UndefinedTableError):
        await pool.fetch("SELECT * FROM no_such_table")
    with pytest.raises(asyncpg.UndefinedTableError):
        async with pool.acquire() as conn:
            await conn.fetch("SELECT * FROM no_such_table")
    with pytest.raises(KeyError):
        async with pool.acquire():
            raise KeyError("the caller's own")
