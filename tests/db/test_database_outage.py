"""PostgreSQL stopped under traffic: refbin answers 503 at once, and recovers by itself when
PostgreSQL returns, without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import free_port


def start_postgres(folder: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        return pgserver.get_server(folder / "pgdata", cleanup_mode="stop")


@pytest.fixture
def outage_folder():
    folder = Path(tempfile.mkdtemp(prefix="refbin-outage-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_requests_fail_fast_with_503_and_recover(outage_folder, tmp_path) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.run_in_executor(None, start_postgres, outage_folder)
    dsn = server.get_uri()
    port = free_port()
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": dsn,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
        "REFBIN_SERVER_PORT": str(port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=asyncio.subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"refbin is serving on" in line
        async with aiohttp.ClientSession() as session:
            made = await session.post(f"{base}/", data={"url": "https://example.com/up"})
            assert made.status == 201

            await loop.run_in_executor(None, server.cleanup)  # PostgreSQL stops
            for method, path, data in (
                ("GET", "/NotCached1", None),
                ("POST", "/", {"url": "https://example.com/down"}),
                ("GET", "/healthz", None),
            ):
                started = time.monotonic()
                response = await session.request(method, base + path, data=data)
                assert response.status == 503, await response.text()
                assert time.monotonic() - started < 5, "an outage must fail fast"
                if response.content_type == "application/json":
                    body = await response.json()
                    assert (
                        body.get("status") == "unavailable"
                        or body["error"]["code"] == "unavailable"
                    )

            server = await loop.run_in_executor(None, start_postgres, outage_folder)
            deadline = time.monotonic() + 20
            while True:  # the pool reconnects on its own; give it a few tries
                response = await session.post(f"{base}/", data={"url": "https://example.com/back"})
                if response.status == 201 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert response.status == 201
            back = await session.get(
                (await response.text()).strip().replace("http://127.0.0.1:8080", base),
                allow_redirects=False,
            )
            assert back.status == 302
        assert proc.returncode is None, "refbin must not have exited"
    finally:
        proc.terminate()
        await proc.wait()
        await loop.run_in_executor(None, server.cleanup)
