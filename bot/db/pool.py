"""A process's connection pools, opened by `open_database`, and how they report an outage.

Every pool hands out connections and runs queries as asyncpg does, with one difference: a
failure to reach PostgreSQL (inside one of its calls, or inside an `acquire` block) comes out as
the domain's `Unavailable`, so no caller above this package knows asyncpg's errors. Only what the
pool itself runs is translated: a client that goes away while its upload is read is an error of
the request, never the database's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg

from bot.config import DatabaseSettings
from bot.db.embedded import EmbeddedPostgres
from bot.db.migrations import migrate
from bot.errors import Unavailable

log = logging.getLogger(__name__)

# What a query meets when PostgreSQL is gone: a refused or missing socket (OSError), a connection
# dropped mid-query, a server shutting down, starting or full, or a pool that cannot hand one out
# in time (TimeoutError).
CONNECTION_FAILURES = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, or not yet up
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection that died under an operation in flight
    OSError,
    TimeoutError,
)


def unavailable(cause: BaseException) -> Unavailable:
    """The domain's error for a database that cannot be reached (logged: the operator acts)."""
    log.warning("database unavailable: %r", cause)
    return Unavailable("The database is unavailable; try again shortly.")


class Pool:
    """An asyncpg pool whose connection failures are raised as `Unavailable`.

    A `try` costs nothing until something is raised, so each call is asyncpg's plus one await.
    `raw` is the asyncpg pool, for what only asyncpg offers.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: asyncpg.Pool) -> None:
        self.raw = raw

    def acquire(self, *, timeout: float | None = None) -> Acquired:
        """A connection for an `async with` block; failures in the block are translated too."""
        return Acquired(self.raw.acquire(timeout=timeout))

    async def execute(self, query: str, *args: Any, **options: Any) -> str:
        try:
            return await self.raw.execute(query, *args, **options)
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc

    async def fetch(self, query: str, *args: Any, **options: Any) -> list[asyncpg.Record]:
        try:
            return await self.raw.fetch(query, *args, **options)
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> asyncpg.Record | None:
        try:
            return await self.raw.fetchrow(query, *args, **options)
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        try:
            return await self.raw.fetchval(query, *args, **options)
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc


class Acquired:
    """asyncpg's acquire context, translating connection failures on the way in and out."""

    __slots__ = ("_context",)

    def __init__(self, context: Any) -> None:
        self._context = context

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            return await self._context.__aenter__()
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._context.__aexit__(kind, error, traceback)
        except CONNECTION_FAILURES as exc:
            raise unavailable(exc) from exc
        if isinstance(error, CONNECTION_FAILURES):
            raise unavailable(error) from error


# A connection taken from a pool, for the statements of one transaction.
Connection = asyncpg.Connection
# What the query functions take: a connection (inside a transaction, say) or a pool.
Queryable = Connection | Pool


@dataclass
class Database:
    """A process's pools: `pool` for writes, `read_pool` for reads (a replica, or the same)."""

    pool: Pool
    read_pool: Pool
    dsn: str


@contextlib.asynccontextmanager
async def open_database(
    settings: DatabaseSettings, *, run_migrations: bool = True
) -> AsyncIterator[Database]:
    """Start the embedded server if needed, open the pools, migrate, and close it all on exit."""
    embedded: EmbeddedPostgres | None = None
    dsn = settings.url
    if not dsn:
        embedded = EmbeddedPostgres(settings.data_dir)
        dsn = await embedded.start()
    try:
        pool = await create_pool(dsn, settings.pool_min, settings.pool_max)
        try:
            if run_migrations:
                async with pool.acquire() as conn:
                    await migrate(conn)
            read_pool = pool
            if settings.read_url:
                read_pool = await create_pool(
                    settings.read_url, settings.pool_min, settings.pool_max
                )
            try:
                primary = Pool(pool)
                replica = primary if read_pool is pool else Pool(read_pool)
                yield Database(pool=primary, read_pool=replica, dsn=dsn)
            finally:
                if read_pool is not pool:
                    await read_pool.close()
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.stop()


async def create_pool(dsn: str, min_size: int, max_size: int) -> asyncpg.Pool:
    """An asyncpg pool whose connections fail fast when the server is unreachable."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(min_size, max_size),
        max_size=max_size,
        timeout=10,
        command_timeout=60,
        server_settings={"application_name": "refbin"},
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query: refbin leaves no session state (SET, LISTEN,
    cursors, advisory locks) on pooled connections, and asyncpg still rolls back an open
    transaction. Saves a round trip per query (bench/results.md)."""
