"""PostgreSQL stopped under traffic: refbin answers 503 at once, and recovers by itself when
PostgreSQL returns, without a restart."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest

from bot.db import EmbeddedPostgres
from tests.helpers import free_port


@pytest.fixture
def outage_folder():
    folder = Path(tempfile.mkdtemp(prefix="refbin-outage-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_requests_fail_fast_with_503_and_recover(outage_folder, tmp_path) -> None:
    server = EmbeddedPostgres(outage_folder)  # refbin's embedded server, run by the test
    dsn = await server.start()
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

            await server.stop()  # PostgreSQL stops
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

            await server.start()
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
        await server.stop()


async def posts_counted(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """`POST /` requests by status, from /metrics."""
    text = await (await session.get(f"{base}/metrics")).text()
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"refbin_http_requests_total\{(.*)\} (\S+)$", line)
        if match and 'method="POST"' in match[1] and 'route="/"' in match[1]:
            status = re.search(r'status="(\d+)"', match[1])
            assert status is not None
            found[status[1]] = float(match[2])
    return found


async def abort_an_upload(host: str, port: int) -> None:
    """Start a 50 MB upload to `POST /`, send 300 kB of it, and drop the connection."""
    _reader, writer = await asyncio.open_connection(host, port)
    boundary = "abort"
    writer.write(
        (
            "POST / HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Content-Length: 50000000\r\n\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + os.urandom(300_000)
    )
    await writer.drain()
    writer.transport.abort()


async def test_a_client_that_aborts_its_upload_is_not_reported_as_an_outage(
    database_url: str, tmp_path: Path
) -> None:
    # A real `refbin web`: its runner, unlike the test client's, lets the handler see the
    # ConnectionResetError of the lost upload (which was once answered as "backend down").
    port = free_port()
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
        "REFBIN_SERVER_PORT": str(port),
    }
    log_path = tmp_path / "refbin.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "web",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"refbin is serving on" in line
        async with aiohttp.ClientSession() as session:
            await abort_an_upload("127.0.0.1", port)
            async with asyncio.timeout(10):  # until the guard has counted it, whatever it said
                while not (counted := await posts_counted(session, base)):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            made = await session.post(f"{base}/", data={"url": "https://example.com/still-up"})

            assert "503" not in counted, counted
            assert "unavailable" not in log_path.read_text()
            assert made.status == 201
    finally:
        proc.terminate()
        await proc.wait()
