"""Dumps of the database for `refbin backup` and `refbin restore`: an exported snapshot with
what it holds (tables counted, migrations, the blob list), and pg_dump / pg_restore run on it.

The embedded server's own programs are used (they match its version); for an external
`database.url`, the ones on PATH."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bot.db import pgcluster
from bot.db.pool import Database
from bot.errors import RefbinError


class DumpError(RefbinError):
    """pg_dump or pg_restore is absent, or failed (its last lines say why)."""


@dataclass(frozen=True)
class Snapshot:
    """An exported snapshot, held open by a transaction, and what it holds."""

    snapshot_id: str
    migrations: tuple[str, ...]
    tables: dict[str, int]
    conn: asyncpg.Connection


def program(name: str, *, embedded: bool) -> Path:
    """The path of a PostgreSQL program: the bundled one, or the one on PATH."""
    if embedded:
        return pgcluster.bin_dir() / name
    found = shutil.which(name)
    if found is None:
        raise DumpError(
            f"{name} is not on PATH: with an external database (database.url), install the "
            "PostgreSQL client programs of the server's major version or newer"
        )
    return Path(found)


@contextlib.asynccontextmanager
async def exported_snapshot(db: Database) -> AsyncIterator[Snapshot]:
    """A REPEATABLE READ, read-only transaction whose snapshot pg_dump can share (`--snapshot`);
    it stays open, taking no lock, until the block ends."""
    async with (
        db.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        snapshot_id = await conn.fetchval("SELECT pg_export_snapshot()")
        migrations = await conn.fetch("SELECT name FROM schema_migrations ORDER BY version")
        tables = await table_counts(conn)
        yield Snapshot(snapshot_id, tuple(row["name"] for row in migrations), tables, conn)


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """How many rows each table of the public schema holds."""
    tables = await conn.fetch(
        """
        SELECT table_name, quote_ident(table_name) AS quoted
        FROM information_schema.tables
        WHERE table_schema = 'public'
          AND table_type = 'BASE TABLE'
        ORDER BY table_name
        """
    )
    if not tables:
        return {}
    # Identifiers cannot be parameters: these come from the catalog, quoted by the server.
    query = "\nUNION ALL\n".join(
        f"SELECT ${n}::text AS name, count(*) AS n FROM public.{row['quoted']}"
        for n, row in enumerate(tables, start=1)
    )
    rows = await conn.fetch(query, *(row["table_name"] for row in tables))
    return {row["name"]: row["n"] for row in rows}


async def snapshot_blobs(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every blob row the snapshot holds: sha256, size, and whether an item uses it."""
    return await conn.fetch(
        """
        SELECT b.sha256, b.size,
               (EXISTS (SELECT 1 FROM texts t WHERE t.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM images i WHERE i.sha256 = b.sha256)
                OR EXISTS (SELECT 1 FROM images i WHERE i.thumb_sha256 = b.sha256)) AS used
        FROM blobs b
        ORDER BY b.sha256
        """
    )


async def is_empty(conn: asyncpg.Connection) -> bool:
    """Whether the database holds no items, blobs, owners or tokens (or no tables at all)."""
    tables = await table_counts(conn)
    return not any(tables.get(name) for name in ("refs", "blobs", "owners", "api_tokens"))


async def clear_schema(conn: asyncpg.Connection) -> None:
    """Drop everything in the public schema (restore --force)."""
    await conn.execute("DROP SCHEMA public CASCADE")
    await conn.execute("CREATE SCHEMA public")


async def pg_dump(dsn: str, dest: Path, *, snapshot_id: str, embedded: bool) -> None:
    """Dump the database at the snapshot in custom format to `dest`, atomically."""
    partial = dest.with_name(dest.name + ".partial")
    await _run(
        program("pg_dump", embedded=embedded),
        "--format=custom",
        f"--snapshot={snapshot_id}",
        "--no-owner",
        "--no-privileges",
        f"--file={partial}",
        f"--dbname={dsn}",
    )
    await asyncio.to_thread(os.replace, partial, dest)


async def pg_restore(dsn: str, dump: Path, *, embedded: bool) -> None:
    """Restore a custom-format dump into the database, in one transaction."""
    await _run(
        program("pg_restore", embedded=embedded),
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        f"--dbname={dsn}",
        str(dump),
    )


async def _run(executable: Path, *args: str) -> None:
    # The PG* variables of the operator's shell (PGHOST, PGPORT…) would redirect the programs.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    process = await asyncio.create_subprocess_exec(
        str(executable),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        said = (err or out).decode(errors="replace").strip().splitlines()[-5:]
        raise DumpError(
            f"{executable.name} failed with status {process.returncode}: " + " / ".join(said)
        )
