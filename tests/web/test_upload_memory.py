"""Big uploads stream through a real `refbin web` process: its memory stays flat, and the
limit is enforced while streaming with 413."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator

import aiohttp
import psutil
import pytest

from tests.helpers import free_port

MiB = 1024 * 1024
RSS_GROWTH_LIMIT = 64 * MiB


@pytest.fixture
async def web_process(database_url, tmp_path) -> AsyncIterator[tuple[str, psutil.Process]]:
    port = free_port()
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
        "REFBIN_SERVER_PORT": str(port),
        "REFBIN_LIMITS_UPLOAD": "250MiB",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"refbin is serving on" in line, line
        yield f"http://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def zeros(total: int, chunk: int = MiB) -> AsyncIterator[bytes]:
    block = bytes(range(256)) * (chunk // 256)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def chunked_upload(total: int) -> aiohttp.MultipartWriter:
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(zeros(total), {"Content-Type": "application/octet-stream"})
    part.set_content_disposition("form-data", name="file", filename="big.bin")
    return writer


async def peak_rss_during(process: psutil.Process, work: asyncio.Future) -> int:
    """Sample the server's resident memory every 20 ms while `work` runs."""
    peak = process.memory_info().rss
    while not work.done():
        peak = max(peak, process.memory_info().rss)
        await asyncio.sleep(0.02)
    return peak


async def test_200_mib_upload_keeps_memory_flat(web_process) -> None:
    base, process = web_process
    async with aiohttp.ClientSession() as session:
        assert (await session.get(f"{base}/healthz")).status == 200
        baseline = process.memory_info().rss
        upload = asyncio.ensure_future(session.post(f"{base}/", data=chunked_upload(200 * MiB)))
        peak = await peak_rss_during(process, upload)
        response = await upload
        assert response.status == 201, await response.text()
        short = (await response.text()).strip()
        head = await session.head(short.replace("http://127.0.0.1:8080", base) + "/raw")
        assert int(head.headers["Content-Length"]) == 200 * MiB
    assert peak - baseline < RSS_GROWTH_LIMIT, f"RSS grew by {(peak - baseline) / MiB:.1f} MiB"


async def test_upload_past_the_limit_is_refused_while_streaming(web_process, tmp_path) -> None:
    base, process = web_process
    async with aiohttp.ClientSession() as session:
        baseline = process.memory_info().rss
        upload = asyncio.ensure_future(session.post(f"{base}/", data=chunked_upload(300 * MiB)))
        peak = await peak_rss_during(process, upload)
        try:
            response = await upload
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
            pytest.fail(f"the server dropped the connection instead of answering 413: {exc}")
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"
        assert (await session.get(f"{base}/healthz")).status == 200
    assert peak - baseline < RSS_GROWTH_LIMIT
    leftovers = list((tmp_path / "data").rglob("*.part"))
    assert leftovers == []


async def test_a_stalled_upload_times_out_and_leaves_nothing(runtime, settings, tmp_path) -> None:
    """Slow loris: a body that stops arriving is dropped with 408 after server.read_timeout."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web import create_app

    runtime.service.settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, read_timeout=1)
    )
    never = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        await never.wait()
        yield b"never sent"

    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(trickle(), {"Content-Type": "application/octet-stream"})
    part.set_content_disposition("form-data", name="file", filename="slow.bin")
    async with TestClient(TestServer(create_app(runtime.service))) as client:
        started = asyncio.get_running_loop().time()
        response = await client.post("/", data=writer)
        elapsed = asyncio.get_running_loop().time() - started
        assert response.status == 408
        assert (await response.json())["error"]["code"] == "timeout"
        assert elapsed < 10
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0
