"""The database: the embedded PostgreSQL when no URL is configured, the pool, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from bot.config import DatabaseSettings

log = logging.getLogger(__name__)

# The migrations ship as the `sql` package's data, so an installed wheel has them too.
SQL_DIR = Path(str(resources.files("sql")))
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any fixed number will do: every refbin process takes the same lock before migrating.
MIGRATION_LOCK = 0x7265_6662_696E  # "refbin"

# What a request meets when PostgreSQL (or the storage under it) is gone: a refused or missing
# socket (OSError), a connection dropped mid-query, or a pool that cannot hand one out in time.
BACKEND_DOWN = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, or not yet up
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection that died under an operation in flight
    OSError,
    TimeoutError,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path = SQL_DIR) -> list[Migration]:
    """The numbered files of `sql/`, in order; a malformed name or a repeated number is an error."""
    migrations: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise RuntimeError(f"{path}: migration files are named like 001_init.sql")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"{folder}: two migrations share a number")
    return migrations


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction, under an advisory lock."""
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """
        )
        rows = await conn.fetch("SELECT version FROM schema_migrations")
        done = {row["version"] for row in rows}
        for migration in migrations:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %s", migration.name)
            applied_now.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


class EmbeddedPostgres:
    """A private PostgreSQL server from the pgserver package, under `<data_dir>/pg`.

    Several refbin processes pointing at one data folder share one server; pgserver stops it when
    the last of them exits.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None

    async def start(self) -> str:
        """Start (or join) the server and return a DSN for it."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.get_running_loop().run_in_executor(None, self._start_sync)
        return self._server.get_uri()  # type: ignore[attr-defined]

    def _start_sync(self) -> object:
        # pgserver asks platformdirs for a runtime folder, which warns when XDG_RUNTIME_DIR is
        # unset (as under root or in CI); the fallback it uses is fine.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # imported here: only the embedded mode needs it

            return pgserver.get_server(self.pgdata, cleanup_mode="stop")

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.get_running_loop().run_in_executor(None, server.cleanup)  # type: ignore[attr-defined]


@dataclass
class Database:
    """A process's pools: `pool` for writes, `read_pool` for reads (a replica, or the same)."""

    pool: asyncpg.Pool
    read_pool: asyncpg.Pool
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
                yield Database(pool=pool, read_pool=read_pool, dsn=dsn)
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
