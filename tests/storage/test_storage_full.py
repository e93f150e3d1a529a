"""Storage full: uploads answer 507, nothing is half-written, stored items are still served."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import StorageSettings
from bot.runtime import open_runtime
from bot.web import create_app

MiB = 1024 * 1024


@pytest.fixture
def small_filesystem() -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), so the kernel itself answers ENOSPC."""
    folder = Path(tempfile.mkdtemp(prefix="refbin-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"mounting a 4 MiB tmpfs needs root: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


async def test_full_storage_answers_507_and_keeps_what_it_has(settings, small_filesystem) -> None:
    full = dataclasses.replace(settings, storage=StorageSettings(path=small_filesystem))
    async with open_runtime(full) as runtime:
        async with TestClient(TestServer(create_app(runtime.service))) as client:
            kept = await client.post("/", data={"text": "stored while there was room"})
            assert kept.status == 201
            kept_id = (await kept.text()).strip().rsplit("/", 1)[-1]
            blobs_before = sorted(p.name for p in small_filesystem.glob("??/??/*"))

            data = aiohttp.FormData()
            data.add_field("file", b"z" * (6 * MiB), filename="big.bin")
            refused = await client.post("/", data=data)
            assert refused.status == 507
            assert (await refused.json())["error"]["code"] == "storage_full"

            assert sorted(p.name for p in small_filesystem.glob("??/??/*")) == blobs_before
            assert list((small_filesystem / "tmp").glob("*.part")) == []
            assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 1
            served = await client.get(f"/{kept_id}")
            assert served.status == 200
            assert await served.text() == "stored while there was room"
