"""The schema enforces class-table inheritance; migrations are idempotent and race-free."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys

import asyncpg
import pytest

from bot.db import load_migrations, migrate

DIGEST = hashlib.sha256(b"x").digest()


async def insert_url_ref(conn: asyncpg.Connection, content_id: str) -> None:
    await conn.execute(
        "INSERT INTO refs (content_id, kind, digest) VALUES ($1, 'url', $2)", content_id, DIGEST
    )
    await conn.execute(
        "INSERT INTO urls (content_id, target) VALUES ($1, 'https://example.com/')", content_id
    )


async def test_schema_accepts_a_ref_with_its_one_subtype(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await insert_url_ref(conn, "ok1")
        assert await conn.fetchval("SELECT kind::text FROM refs WHERE content_id = 'ok1'") == "url"
    finally:
        await conn.close()


async def test_schema_refuses_a_ref_without_a_subtype(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="no subtype"):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO refs (content_id, kind, digest) VALUES ('lonely', 'url', $1)",
                    DIGEST,
                )
        assert await conn.fetchval("SELECT count(*) FROM refs") == 0
    finally:
        await conn.close()


async def test_schema_refuses_a_second_subtype_row(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await insert_url_ref(conn, "twice")
        await conn.execute(
            "INSERT INTO blobs (sha256, size, media_type) VALUES ($1, 1, 'text/plain')",
            "a" * 64,
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                """
                INSERT INTO texts (content_id, sha256, language, line_count)
                VALUES ('twice', $1, 'text', 1)
                """,
                "a" * 64,
            )
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO urls (content_id, target) VALUES ('twice', 'https://b.example/')"
            )
    finally:
        await conn.close()


async def test_schema_refuses_a_subtype_of_the_wrong_kind(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO urls (content_id, kind, target) VALUES ('k', 'text', 'https://x/')"
            )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO refs (content_id, kind, digest) VALUES ('k2', 'file', $1)",
                    DIGEST,
                )
                await conn.execute(
                    "INSERT INTO urls (content_id, target) VALUES ('k2', 'https://x.example/')"
                )
    finally:
        await conn.close()


async def test_migrations_are_idempotent(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn) == []
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == len(load_migrations())
    finally:
        await conn.close()


async def test_two_processes_migrating_at_once_apply_each_migration_once(
    postgres, tmp_path
) -> None:
    admin = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS refbin_race")
        await admin.execute("CREATE DATABASE refbin_race")
    finally:
        await admin.close()
    env = {**os.environ, "REFBIN_DATABASE_URL": postgres.dsn("refbin_race")}
    env["REFBIN_DATABASE_DATA_DIR"] = str(tmp_path)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = [await proc.communicate() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    conn = await asyncpg.connect(postgres.dsn("refbin_race"))
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in load_migrations()]
    finally:
        await conn.close()
