"""A data folder made by the previous embedded server (pgserver 0.1.4, PostgreSQL 16) is upgraded
by itself at the first start: every row survives, the old folder is kept beside it, a second
start does nothing, and a process killed at any step leaves the old folder usable and the next
start finishes the job."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from bot.config import DatabaseSettings, load_settings
from bot.db import EmbeddedPostgres, load_migrations, migrate, open_database, pgcluster
from bot.db.pgcluster import EmbeddedServerError
from bot.runtime import open_runtime

pgserver = pytest.importorskip(
    "pgserver",
    reason="pgserver 0.1.4 (PostgreSQL 16) has no build for this platform, so no PostgreSQL 16 "
    "folder can be made here (and none exists to upgrade)",
)

# The migrations a folder made by pgserver can hold: those released before the switch to
# PostgreSQL 18 (later ones may need its contrib modules, which pgserver lacks).
PGSERVER_ERA_MIGRATIONS = 4
KEPT = "pg.pg16-old"
# What the previous release stored, in the schema of migration 004: every table has rows.
DATA = r"""
INSERT INTO instance (secret) VALUES (decode(repeat('ab', 32), 'hex'));
INSERT INTO owners (discord_user_id, name, reminders)
SELECT 1000 + n, 'owner ' || n || ' ünïcødé', n % 2 = 0 FROM generate_series(1, 20) AS n;
INSERT INTO api_tokens (owner_id, name, token_hash, revoked_at)
SELECT owner_id, 'token ' || owner_id, sha256(owner_id::text::bytea),
       CASE WHEN owner_id % 5 = 0 THEN now() END
FROM owners;
INSERT INTO blobs (sha256, size, media_type)
SELECT encode(sha256(n::text::bytea), 'hex'), n * 10, 'text/plain'
FROM generate_series(1, 600) AS n;
BEGIN;
INSERT INTO refs (content_id, kind, digest, owner_id, visibility, expires_at, max_views, views,
                  delete_token_hash, password_hash, blocked_reason, reminded_at)
SELECT 'link' || n, 'url', sha256(('link' || n)::bytea), 1 + n % 20,
       (ARRAY['public', 'unlisted', 'private'])[1 + n % 3]::visibility,
       CASE WHEN n % 4 = 0 THEN now() + interval '7 days' END,
       CASE WHEN n % 10 = 0 THEN 5 END, n % 5, sha256(('token' || n)::bytea),
       CASE WHEN n % 9 = 0 THEN 'scrypt$hash' || n END,
       CASE WHEN n % 50 = 0 THEN 'blocked by the operator' END,
       CASE WHEN n % 7 = 0 THEN now() END
FROM generate_series(1, 1000) AS n;
INSERT INTO urls (content_id, target)
SELECT 'link' || n, 'https://example.com/page/' || n || '?q=ü' FROM generate_series(1, 1000) AS n;
INSERT INTO refs (content_id, kind, digest, owner_id)
SELECT 'paste' || n, 'text', sha256(('paste' || n)::bytea), 1 + n % 20
FROM generate_series(1, 300) AS n;
INSERT INTO texts (content_id, sha256, language, line_count, filename)
SELECT 'paste' || n, encode(sha256(n::text::bytea), 'hex'), 'python', n, 'script' || n || '.py'
FROM generate_series(1, 300) AS n;
INSERT INTO refs (content_id, kind, digest, guild_id)
SELECT 'image' || n, 'image', sha256(('image' || n)::bytea), 42 FROM generate_series(1, 100) AS n;
INSERT INTO images (content_id, sha256, width, height, thumb_sha256, filename)
SELECT 'image' || n, encode(sha256((300 + n)::text::bytea), 'hex'), 640, 480,
       encode(sha256((400 + n)::text::bytea), 'hex'), 'photo' || n || '.png'
FROM generate_series(1, 100) AS n;
INSERT INTO refs (content_id, kind, digest)
SELECT 'file' || n, 'file', sha256(('file' || n)::bytea) FROM generate_series(1, 100) AS n;
INSERT INTO files (content_id, sha256, filename)
SELECT 'file' || n, encode(sha256((500 + n)::text::bytea), 'hex'), 'archive' || n || '.zip'
FROM generate_series(1, 100) AS n;
COMMIT;
INSERT INTO visits (content_id, day, referrer, count)
SELECT 'link' || n, current_date - d, CASE WHEN d % 2 = 0 THEN '' ELSE 'discord.com' END, d + n
FROM generate_series(1, 1000) AS n, generate_series(0, 4) AS d;
INSERT INTO guild_settings (guild_id, auto_paste_channels, default_expiry, allowed_kinds)
VALUES (42, '{1,2,3}', interval '30 days', '{url,text}'), (43, '{}', NULL, DEFAULT);
"""


@dataclasses.dataclass(frozen=True)
class Pg16Folder:
    """A data folder made by pgserver, holding DATA; `rows` is what each table held."""

    data_dir: Path
    rows: dict[str, list[tuple[object, ...]]]


async def table_rows(dsn: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of refbin's schema, sorted: what must survive."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET TimeZone = 'UTC'")
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        return {
            table: sorted(
                (tuple(row) for row in await conn.fetch(f"SELECT * FROM {table}")), key=repr
            )
            for (table,) in tables
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def pg16_template() -> AsyncIterator[Pg16Folder]:
    """A folder made by pgserver 0.1.4, migrated as the previous release did and filled."""
    folder = Path(tempfile.mkdtemp(prefix="refbin-pg16-"))  # not 0700: pgserver's user reads it
    data_dir = folder / "data"
    data_dir.mkdir()
    loop = asyncio.get_running_loop()
    server = await loop.run_in_executor(
        None, lambda: pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    )
    try:
        conn = await asyncpg.connect(server.get_uri())
        try:
            era = [m for m in load_migrations() if m.version <= PGSERVER_ERA_MIGRATIONS]
            await migrate(conn, era)
            await conn.execute(DATA)
            assert await conn.fetchval("SHOW server_version_num") < "170000"
        finally:
            await conn.close()
        rows = await table_rows(server.get_uri())
    finally:
        await loop.run_in_executor(None, server.cleanup)
    assert (data_dir / "pg" / "PG_VERSION").read_text().strip() == "16"
    assert all(rows.values()), "every table holds something to lose"
    yield Pg16Folder(data_dir, rows)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg16(pg16_template: Pg16Folder) -> Iterator[Pg16Folder]:
    """A fresh copy of the template (with its owner: under root, pgserver's OS user)."""
    folder = Path(tempfile.mkdtemp(prefix="refbin-upgrade-"))
    data_dir = folder / "data"
    subprocess.run(["cp", "-a", str(pg16_template.data_dir), str(data_dir)], check=True)
    yield Pg16Folder(data_dir, pg16_template.rows)
    for process in servers_on(folder):
        process.kill()
    shutil.rmtree(folder, ignore_errors=True)


def servers_on(folder: Path) -> list[psutil.Process]:
    """The PostgreSQL servers running on a data folder under `folder`."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(str(folder) in arg for arg in cmdline):
            found.append(process)
    return found


def settings_for(data_dir: Path) -> DatabaseSettings:
    return DatabaseSettings(url="", data_dir=data_dir, pool_max=2)


def upgrade_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.db.major_upgrade"]


async def assert_every_row_survived(folder: Pg16Folder) -> None:
    # Without this release's migrations: they add columns and tables the old rows never had.
    async with open_database(settings_for(folder.data_dir), run_migrations=False) as db:
        assert await table_rows(db.dsn) == folder.rows
        assert await db.pool.fetchval("SELECT current_setting('server_version_num')::int") >= 180000


async def test_a_pgserver_folder_is_upgraded_at_start_and_every_row_survives(
    pg16: Pg16Folder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.db.major_upgrade")
    pgdata, kept = pg16.data_dir / "pg", pg16.data_dir / KEPT

    await assert_every_row_survived(pg16)

    said = upgrade_messages(caplog)
    assert "was made by PostgreSQL 16; upgrading it to PostgreSQL 18" in said[0]
    assert said[-1].startswith("upgrade done: 1 database(s), 12 tables")
    assert f"The old folder is kept as {kept}; delete it when" in said[-1]
    assert pgcluster.data_major(pgdata) == 18
    assert pgcluster.data_major(kept) == 16  # kept, whole
    assert sorted(p.name for p in pg16.data_dir.iterdir()) == ["pg", KEPT]
    if pgcluster.is_root():  # the new folder belongs to the new package's OS user
        assert pgdata.owner() == pgcluster.SERVER_USER
        assert kept.owner() == "pgserver"
    assert servers_on(pg16.data_dir) == []


async def test_the_upgraded_folder_serves_refbin_and_a_second_start_does_nothing(
    pg16: Pg16Folder, caplog: pytest.LogCaptureFixture
) -> None:
    await assert_every_row_survived(pg16)
    kept_version = (pg16.data_dir / KEPT / "PG_VERSION").stat()
    caplog.clear()
    caplog.set_level(logging.INFO, logger="bot.db.major_upgrade")

    settings = load_settings(None, environ={})
    settings = dataclasses.replace(settings, database=settings_for(pg16.data_dir))
    async with open_runtime(settings) as runtime:
        item = await runtime.service.get("link7")
        assert item.target == "https://example.com/page/7?q=ü"

    assert upgrade_messages(caplog) == []
    assert (pg16.data_dir / KEPT / "PG_VERSION").stat() == kept_version
    assert not list(pg16.data_dir.glob("pg.upgrad*")), "no upgrade was started again"


# Two runs of kills: each start is killed at the next step, then a start without a kill must
# finish. The second run kills after the swap, before the dumps are removed.
KILL_RUNS = {
    "before-the-swap": [
        "upgrade.dumping",
        "upgrade.restoring",
        "upgrade.verified",
        "upgrade.old_moved",
    ],
    "after-the-swap": ["upgrade.swapped"],
}
RUNNER = (
    "import sys; from pathlib import Path; from bot.db import EmbeddedPostgres as E; "
    "s = E(Path(sys.argv[1])); s.open(); s.close()"
)


@pytest.mark.parametrize("run", KILL_RUNS)
async def test_an_upgrade_killed_at_any_step_is_finished_by_the_next_start(
    pg16: Pg16Folder, run: str
) -> None:
    private_sockets = set(Path(tempfile.gettempdir()).glob("refbin-pg-*"))
    for step in KILL_RUNS[run]:
        env = {**os.environ, "REFBIN_FAILPOINTS": step}
        killed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", RUNNER, str(pg16.data_dir)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        if step == "upgrade.old_moved":  # between the renames: the old folder is set aside whole
            assert not (pg16.data_dir / "pg").exists()
            assert pgcluster.data_major(pg16.data_dir / KEPT) == 16
        elif step == "upgrade.swapped":
            assert pgcluster.data_major(pg16.data_dir / "pg") == 18
            assert pgcluster.data_major(pg16.data_dir / KEPT) == 16
        else:  # the old folder is still the data folder
            assert pgcluster.data_major(pg16.data_dir / "pg") == 16
            assert not (pg16.data_dir / KEPT).exists()

    await assert_every_row_survived(pg16)
    assert sorted(p.name for p in pg16.data_dir.iterdir()) == ["pg", KEPT]
    assert servers_on(pg16.data_dir) == [], "a server a killed start left running is stopped"
    assert set(Path(tempfile.gettempdir()).glob("refbin-pg-*")) <= private_sockets


async def test_without_postgresql_16_programs_the_folder_is_left_alone_with_the_steps(
    pg16: Pg16Folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)  # as where pgserver has no build

    with pytest.raises(EmbeddedServerError) as refused:
        await EmbeddedPostgres(pg16.data_dir).start()

    message = str(refused.value)
    assert "was made by PostgreSQL 16 and this refbin runs PostgreSQL 18" in message
    assert "pip install pgserver==0.1.4" in message
    assert "docs/embedded-postgres.md" in message and "Nothing was changed" in message
    assert sorted(p.name for p in pg16.data_dir.iterdir()) == ["pg"]
    assert pgcluster.data_major(pg16.data_dir / "pg") == 16


def older_refbin_on(pgdata: Path) -> subprocess.Popen[str]:
    """A process of the previous release: pgserver's server on `pgdata`, until told to leave."""
    script = (
        "import sys, pgserver; s = pgserver.get_server(sys.argv[1]); print('up', flush=True); "
        "sys.stdin.readline(); s.cleanup()"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script, str(pgdata)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def test_a_folder_an_older_refbin_still_uses_is_not_upgraded_under_it(
    pg16: Pg16Folder,
) -> None:
    older = await asyncio.to_thread(older_refbin_on, pg16.data_dir / "pg")
    try:
        assert older.stdout is not None and older.stdout.readline().strip() == "up"
        with pytest.raises(EmbeddedServerError, match=r"is running on .* \(an older refbin\?\)"):
            await EmbeddedPostgres(pg16.data_dir).start()
    finally:
        assert older.stdin is not None
        older.stdin.write("\n")
        older.stdin.flush()
        older.wait(timeout=60)
    assert pgcluster.data_major(pg16.data_dir / "pg") == 16
    await assert_every_row_survived(pg16)  # and once it is gone, the upgrade goes through
