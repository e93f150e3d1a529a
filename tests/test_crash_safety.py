"""A refbin process killed (SIGKILL) at each step of storing an upload loses nothing stored
before, leaves no row pointing at a missing or partial blob and no partial blob at a final path;
the sweep removes the leftovers and a re-upload repairs what it finds."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.config import DatabaseSettings
from bot.runtime import open_runtime
from tests.helpers import chunks_of, free_port

MiB = 1024 * 1024
PAYLOAD = bytes(range(256)) * (3 * MiB // 256)  # 3 MiB, several staging batches


async def start_web(
    database_url: str, data_dir: Path, failpoints: str = ""
) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(data_dir),
        "REFBIN_SERVER_PORT": str(port),
        "REFBIN_FAILPOINTS": failpoints,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=asyncio.subprocess.PIPE
    )
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert b"refbin is serving on" in line, line
    return proc, f"http://127.0.0.1:{port}"


async def slow_body(gate: asyncio.Event) -> AsyncIterator[bytes]:
    yield PAYLOAD[: 2 * MiB]
    await gate.wait()  # never set: the process dies while the upload is half streamed
    yield PAYLOAD[2 * MiB :]


def upload_form(body: object) -> aiohttp.MultipartWriter:
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(body, {"Content-Type": "application/octet-stream"})
    part.set_content_disposition("form-data", name="file", filename="data.bin")
    return writer


async def check_consistent(database_url: str, blob_root: Path) -> None:
    """Every row's blob is whole at its final path; no partial file sits at a final path."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT sha256, size FROM blobs")
        used = await conn.fetch(
            """
            SELECT sha256 FROM files
            UNION SELECT sha256 FROM texts
            UNION SELECT sha256 FROM images
            """
        )
    finally:
        await conn.close()
    sizes = {row["sha256"]: row["size"] for row in rows}
    for row in used:
        path = blob_root / row["sha256"][:2] / row["sha256"][2:4] / row["sha256"]
        assert path.is_file(), f"an item points at a missing blob {row['sha256']}"
        assert path.stat().st_size == sizes[row["sha256"]]
    for path in blob_root.glob("??/??/*"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"partial blob {path}"


@pytest.mark.parametrize(
    "step", ["streaming", "upload.staged", "upload.renamed", "upload.committed"]
)
async def test_kill_at_each_step_of_an_upload(step, database_url, settings, tmp_path) -> None:
    data_dir = tmp_path / "data"
    blob_root = data_dir / "blobs"
    proc, base = await start_web(
        database_url, data_dir, failpoints="" if step == "streaming" else step
    )
    async with aiohttp.ClientSession() as session:
        before = await session.post(f"{base}/", data={"text": "stored before the crash"})
        assert before.status == 201
        before_url = (await before.text()).strip()
        if step == "streaming":
            upload = asyncio.ensure_future(
                session.post(f"{base}/", data=upload_form(slow_body(asyncio.Event())))
            )
            temp_dir = blob_root / "tmp"
            async with asyncio.timeout(20):
                # Another process's file: there is no event to await, so look every 20 ms.
                while not any(p.stat().st_size >= MiB for p in temp_dir.glob("*.part")):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            with pytest.raises(aiohttp.ClientError):
                await upload
        else:
            with pytest.raises(aiohttp.ClientError):
                await session.post(f"{base}/", data=upload_form(PAYLOAD))
    assert await proc.wait() == -signal.SIGKILL

    await check_consistent(database_url, blob_root)
    restarted, base = await start_web(database_url, data_dir)
    try:
        async with aiohttp.ClientSession() as session:
            path = "/" + before_url.rsplit("/", 1)[-1]
            kept = await session.get(base + path)
            assert await kept.text() == "stored before the crash"
            again = await session.post(f"{base}/", data=upload_form(PAYLOAD))
            assert again.status == 201
            raw = await session.get(
                base + "/" + (await again.text()).strip().rsplit("/", 1)[-1] + "/raw"
            )
            assert await raw.read() == PAYLOAD
    finally:
        restarted.terminate()
        await restarted.wait()
    await check_consistent(database_url, blob_root)

    # Leftovers (a temporary file, an unreferenced blob) go with the next sweep.

    swept_settings = dataclasses.replace(
        settings, database=DatabaseSettings(url=database_url, data_dir=data_dir)
    )
    async with open_runtime(swept_settings) as runtime:
        runtime.service.blob_grace = __import__("datetime").timedelta(0)
        for part in (blob_root / "tmp").glob("*.part"):
            os.utime(part, (0, 0))
        await runtime.service.sweep()
        assert list((blob_root / "tmp").glob("*.part")) == []
        used = {
            row["sha256"]
            for row in await runtime.db.pool.fetch(
                "SELECT sha256 FROM files UNION SELECT sha256 FROM texts"
            )
        }
    on_disk = {p.name for p in blob_root.glob("??/??/*")}
    assert on_disk == used


async def test_reupload_repairs_a_blob_damaged_on_disk(runtime) -> None:
    first = await runtime.service.add_upload(chunks_of(PAYLOAD))
    path = runtime.store.local_path(first.item.sha256)
    path.write_bytes(PAYLOAD[:MiB])  # a torn copy
    await runtime.service.add_upload(chunks_of(PAYLOAD))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first.item.sha256
