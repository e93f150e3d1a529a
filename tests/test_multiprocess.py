"""Beyond one machine: two `refbin web` processes, as on two hosts (each with its own data
folder), on one external PostgreSQL and one S3 bucket (a moto server). Whatever one process did,
the other one sees: items, visits, deletes, view limits; and each background job's work is done
once, though both run every job."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.config import load_settings
from bot.models import ItemOptions
from bot.runtime import open_runtime
from bot.service import cache
from tests.conftest import PostgresServer
from tests.helpers import id_of
from tests.storage_fixtures import S3Server, s3_server_fixture  # noqa: F401 - `s3_server`

# docs/deploy.md promises that a delete is honoured by every process within this many seconds.
DOCUMENTED_DELETE_SECONDS = 2.0
SLACK = 1.0  # process scheduling on a busy CI machine
FLUSH_DEADLINE = 10.0  # the visit flush runs every 2 s
EXPIRED_ITEMS = 30
_cluster_numbers = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(
    check: Callable[[], Awaitable[bool]], deadline: float, interval: float = 0.05
) -> float:
    """Poll `check` until it is true; the seconds it took. Fails at the deadline."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > deadline:
            pytest.fail(f"not true within {deadline} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


@dataclass
class WebProcess:
    """One `refbin web` process with its own data folder and log file."""

    name: str
    env: dict[str, str]
    folder: Path
    process: asyncio.subprocess.Process | None = None
    url: str = ""

    @property
    def log(self) -> Path:
        return self.folder / "refbin.log"

    async def start(self) -> None:
        port = free_port()
        env = {**self.env, "REFBIN_SERVER_PORT": str(port)}
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "web",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert b"refbin is serving on" in line, self.log.read_text()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> int:
        """SIGTERM, as systemd or a container runtime stops it; the exit status."""
        if self.process is None or self.process.returncode is not None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)

    def sweep_reports(self) -> list[tuple[int, int]]:
        """(expired, blobs_removed) of every sweep this process logged."""
        found = re.findall(
            r"sweep: SweepReport\(expired=(\d+), blobs_removed=(\d+)", self.log.read_text()
        )
        return [(int(expired), int(blobs)) for expired, blobs in found]


@dataclass
class Cluster:
    a: WebProcess
    b: WebProcess
    dsn: str
    s3: S3Server
    prefix: str
    token: str
    expired_shas: list[str]
    session: aiohttp.ClientSession = field(init=False)

    @property
    def both(self) -> tuple[WebProcess, WebProcess]:
        return self.a, self.b

    async def add(self, via: WebProcess, headers: dict[str, str] | None = None, **fields: str):
        form = aiohttp.FormData()
        for name, value in fields.items():
            if name == "file":
                form.add_field("file", value, filename="blob.bin")
            else:
                form.add_field(name, value)
        async with self.session.post(via.url + "/", data=form, headers=headers) as response:
            assert response.status in (200, 201), await response.text()
            return (
                id_of(await response.text()),
                response.status,
                response.headers.get("X-Delete-Token"),
            )

    async def restart(self) -> None:
        assert await asyncio.gather(*(p.stop() for p in self.both)) == [0, 0]
        await asyncio.gather(*(p.start() for p in self.both))

    async def fetchval(self, query: str, *args: object) -> object:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    def s3_keys(self) -> set[str]:
        listing = self.s3.client.list_objects_v2(Bucket=self.s3.settings.bucket, Prefix=self.prefix)
        return {entry["Key"].rsplit("/", 1)[1] for entry in listing.get("Contents", ())}


async def create_database(postgres: PostgresServer, template: str) -> str:
    name = f"refbin_cluster_{next(_cluster_numbers)}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        await conn.close()
    return name


async def drop_database(postgres: PostgresServer, name: str) -> None:
    conn = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


async def leave_expired_items(env: dict[str, str], dsn: str) -> tuple[str, list[str]]:
    """An API token, and EXPIRED_ITEMS pastes that expired an hour ago, whose blobs nothing else
    uses: work waiting for the sweeps of the processes about to start. Returns their blobs."""
    async with open_runtime(load_settings(None, environ=env)) as runtime:
        token = await runtime.service.create_api_token("cluster test")
        created = [
            await runtime.service.add_paste(f"expired paste {n}", options=ItemOptions())
            for n in range(EXPIRED_ITEMS)
        ]
    ids = [c.item.content_id for c in created]
    shas = [c.item.sha256 for c in created]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """
            UPDATE refs
            SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
            WHERE content_id = ANY($1::text[])
            """,
            ids,
        )
        await conn.execute(
            "UPDATE blobs SET touched_at = now() - interval '2 hours' WHERE sha256 = ANY($1)",
            shas,
        )
    finally:
        await conn.close()
    return token, [sha for sha in shas if sha is not None]


@pytest.fixture(scope="module")
async def cluster(
    postgres: PostgresServer,
    template_database: str,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    name = await create_database(postgres, template_database)
    dsn = postgres.dsn(name)
    prefix = f"cluster-{uuid.uuid4().hex}/"
    s3 = s3_server.settings
    shared = {key: value for key, value in os.environ.items() if not key.startswith("REFBIN_")}
    shared |= {
        "REFBIN_DATABASE_URL": dsn,
        "REFBIN_STORAGE_BACKEND": "s3",
        "REFBIN_STORAGE_S3_BUCKET": s3.bucket,
        "REFBIN_STORAGE_S3_ENDPOINT_URL": str(s3.endpoint_url),
        "REFBIN_STORAGE_S3_PATH_STYLE": "true",
        "REFBIN_STORAGE_S3_PREFIX": prefix,
        "REFBIN_STORAGE_S3_PART_SIZE": "5MiB",
        "REFBIN_STORAGE_S3_ACCESS_KEY_ID": str(s3.access_key_id),
        "REFBIN_STORAGE_S3_SECRET_ACCESS_KEY": str(s3.secret_access_key),
        "REFBIN_LIMITS_RATE_CREATE": "0",
        "REFBIN_LIMITS_RATE_DELETE": "0",
    }
    hosts = []
    for host in ("a", "b"):
        folder = tmp_path_factory.mktemp(f"host-{host}")
        env = {**shared, "REFBIN_DATABASE_DATA_DIR": str(folder / "data")}
        hosts.append(WebProcess(host, env, folder))
    token, expired_shas = await leave_expired_items(hosts[0].env, dsn)
    cluster = Cluster(hosts[0], hosts[1], dsn, s3_server, prefix, token, expired_shas)
    try:
        await asyncio.gather(*(p.start() for p in cluster.both))
        async with aiohttp.ClientSession() as session:
            cluster.session = session
            yield cluster
        assert await asyncio.gather(*(p.stop() for p in cluster.both)) == [0, 0]
    finally:
        for process in cluster.both:
            await process.stop()
        await drop_database(postgres, name)


async def test_both_processes_sweep_at_start_and_each_expired_item_is_removed_once(
    cluster: Cluster,
) -> None:
    async def both_reported_everything() -> bool:
        reports = [r for p in cluster.both for r in p.sweep_reports()]
        return sum(expired for expired, _ in reports) >= EXPIRED_ITEMS and sum(
            blobs for _, blobs in reports
        ) >= len(cluster.expired_shas)

    await eventually(both_reported_everything, deadline=15)

    reports = [r for p in cluster.both for r in p.sweep_reports()]
    assert sum(expired for expired, _ in reports) == EXPIRED_ITEMS
    assert sum(blobs for _, blobs in reports) == len(cluster.expired_shas) == EXPIRED_ITEMS
    assert await cluster.fetchval("SELECT count(*) FROM refs WHERE expires_at < now()") == 0
    assert not cluster.s3_keys() & set(cluster.expired_shas)


async def test_items_added_through_one_process_are_served_by_the_other(
    cluster: Cluster,
) -> None:
    session = cluster.session
    big = os.urandom(6 * 1024 * 1024 + 123)  # past part_size: a multipart upload to S3
    link, _, _ = await cluster.add(cluster.a, url="https://example.com/far/away")
    paste, _, _ = await cluster.add(cluster.a, text="shared by every process\n")
    upload, _, _ = await cluster.add(cluster.b, file=big)  # type: ignore[arg-type]

    async with session.get(f"{cluster.b.url}/{link}", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "https://example.com/far/away"
    async with session.get(f"{cluster.b.url}/{paste}/raw") as response:
        assert response.status == 200
        assert await response.text() == "shared by every process\n"
    async with session.get(f"{cluster.a.url}/{upload}/raw") as response:
        assert response.status == 200
        assert await response.read() == big
    ranged = {"Range": "bytes=5242870-5242889"}
    async with session.get(f"{cluster.a.url}/{upload}/raw", headers=ranged) as response:
        assert response.status == 206
        assert await response.read() == big[5242870:5242890]
    assert hashlib.sha256(big).hexdigest() in cluster.s3_keys()
    for process in cluster.both:  # the bytes are in S3, not on either host
        blobs = process.folder / "data" / "blobs"
        assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]


async def test_the_same_owner_adding_the_same_link_through_either_process_gets_one_item(
    cluster: Cluster,
) -> None:
    bearer = {"Authorization": f"Bearer {cluster.token}"}
    url = "https://example.com/added/twice"

    first_id, first_status, _ = await cluster.add(cluster.a, headers=bearer, url=url)
    second_id, second_status, _ = await cluster.add(cluster.b, headers=bearer, url=url)

    assert first_id == second_id  # one instance secret, kept in the database
    assert (first_status, second_status) == (201, 200)


async def test_visits_counted_by_both_processes_add_up_exactly(cluster: Cluster) -> None:
    session = cluster.session
    link, _, _ = await cluster.add(cluster.a, url="https://example.com/counted")

    async def visit(process: WebProcess, times: int) -> None:
        for _ in range(times):
            async with session.get(f"{process.url}/{link}", allow_redirects=False) as response:
                assert response.status == 302

    async def counts() -> tuple[object, object]:
        views = await cluster.fetchval("SELECT views FROM refs WHERE content_id = $1", link)
        visits = await cluster.fetchval(
            "SELECT COALESCE(sum(count), 0) FROM visits WHERE content_id = $1", link
        )
        return views, visits

    async def counted(total: int) -> bool:
        return await counts() == (total, total)

    # The periodic flush: each process writes its own counts, every two seconds.
    await asyncio.gather(visit(cluster.a, 7), visit(cluster.b, 5))
    await eventually(lambda: counted(12), deadline=FLUSH_DEADLINE)
    # The last flush, at shutdown: counts still in memory when SIGTERM arrives are written once.
    await asyncio.gather(visit(cluster.a, 3), visit(cluster.b, 4))
    await cluster.restart()

    assert await counts() == (19, 19)
    # Restarted processes hold nothing of the old ones, and need nothing of them.
    async with session.get(f"{cluster.b.url}/{link}", allow_redirects=False) as response:
        assert response.status == 302


async def test_a_delete_through_one_process_is_honoured_by_the_other_in_time(
    cluster: Cluster,
) -> None:
    assert cache.SHORT_TTL <= DOCUMENTED_DELETE_SECONDS, "update docs/deploy.md"
    session = cluster.session
    paste, _, token = await cluster.add(cluster.a, text="soon gone\n")
    assert token is not None
    for process in cluster.both:  # both have read it (and may hold it in their caches)
        async with session.get(f"{process.url}/{paste}/raw") as response:
            assert response.status == 200

    headers = {"X-Delete-Token": token}
    async with session.delete(f"{cluster.a.url}/{paste}", headers=headers) as response:
        assert response.status == 204

    async def gone_from_b() -> bool:
        async with session.get(f"{cluster.b.url}/{paste}/raw") as response:
            return response.status == 404

    took = await eventually(gone_from_b, deadline=DOCUMENTED_DELETE_SECONDS + SLACK)
    async with session.get(f"{cluster.a.url}/{paste}/raw") as response:
        assert response.status == 404
    print(f"delete honoured by the other process after {took:.3f} s")


@pytest.mark.parametrize("max_views", [1, 3])
async def test_a_view_limited_item_is_served_only_as_often_as_allowed_across_both(
    cluster: Cluster, max_views: int
) -> None:
    session = cluster.session
    paste, _, _ = await cluster.add(
        cluster.a, text=f"for {max_views} pair(s) of eyes\n", max_views=str(max_views)
    )

    async def fetch(process: WebProcess) -> int:
        async with session.get(f"{process.url}/{paste}/raw") as response:
            await response.read()
            return response.status

    statuses = await asyncio.gather(*(fetch(p) for p in cluster.both for _ in range(10)))

    assert sorted(statuses) == [200] * max_views + [410] * (20 - max_views)
    views = await cluster.fetchval("SELECT views FROM refs WHERE content_id = $1", paste)
    assert views == max_views
