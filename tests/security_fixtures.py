"""Fixtures and builders for the security tests: one refbin per test module (small limits, a
short read timeout) so long tables of hostile cases run in seconds, multipart bodies built
byte by byte (as a hostile client would send them), and raw HTTP over a socket for headers
that no well-behaved client library would send.

Test modules take the fixture with `from tests.security_fixtures import shared_app_fixture`;
it is named `shared_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import DatabaseSettings, Settings, load_settings
from bot.runtime import Runtime, open_runtime
from bot.web import create_app

UPLOAD_LIMIT = 64 * 1024
PASTE_LIMIT = 8 * 1024
READ_TIMEOUT = 1
BOUNDARY = "refbinHostileBoundary7"
_numbers = itertools.count()


@dataclass
class SharedApp:
    """refbin on a real loopback port, shared by the tests of one module."""

    client: TestClient
    runtime: Runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    async def count(self, table: str = "refs") -> int:
        return await self.runtime.db.pool.fetchval(f"SELECT count(*) FROM {table}")

    def temp_files(self) -> list[str]:
        """Staged uploads not cleaned up (there must never be any after a request)."""
        return sorted(path.name for path in self.runtime.service.stager.tmp_dir.glob("*.part"))


@contextlib.asynccontextmanager
async def fresh_database(postgres, template_database: str) -> AsyncIterator[str]:
    """A new database of the session's server, cloned from the migrated template; its DSN."""
    name = f"refbin_security_{next(_numbers)}"
    admin = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    finally:
        await admin.close()
    try:
        yield postgres.dsn(name)
    finally:
        admin = await asyncpg.connect(postgres.dsn("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture(scope="module", name="shared_app")
async def shared_app_fixture(
    postgres, template_database, tmp_path_factory
) -> AsyncIterator[SharedApp]:
    base = load_settings(None, environ={})
    async with fresh_database(postgres, template_database) as dsn:
        settings = dataclasses.replace(
            base,
            server=dataclasses.replace(base.server, read_timeout=READ_TIMEOUT),
            database=DatabaseSettings(
                url=dsn, data_dir=tmp_path_factory.mktemp("data"), pool_max=5
            ),
            limits=dataclasses.replace(
                base.limits,
                upload=UPLOAD_LIMIT,
                paste=PASTE_LIMIT,
                rate_create=0,
                rate_read=0,
                rate_delete=0,
            ),
            secret="test-secret-" + "s" * 32,
        )
        async with (
            open_runtime(settings) as runtime,
            TestClient(TestServer(create_app(runtime.service))) as client,
        ):
            yield SharedApp(client=client, runtime=runtime)


# ---- bodies and requests as a hostile client sends them ---------------------------------------


def part(disposition: bytes, body: bytes, *, content_type: bytes | None = None) -> bytes:
    """One multipart part: its Content-Disposition parameters exactly as given, then its body."""
    head = b"Content-Disposition: form-data; " + disposition + b"\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    return head + b"\r\n" + body


def multipart(*parts: bytes) -> bytes:
    """A multipart/form-data body (boundary BOUNDARY) of parts made by `part`."""
    dash = b"--" + BOUNDARY.encode()
    return b"".join(dash + b"\r\n" + p + b"\r\n" for p in parts) + dash + b"--\r\n"


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@dataclass(frozen=True)
class RawAnswer:
    status: int
    head: bytes
    body: bytes


async def raw_request(client: TestClient, request: bytes, wait: float = 10) -> RawAnswer:
    """Send bytes as they are over a new connection; read the answer (head, then the body by
    its Content-Length: the server may linger a while before it closes after a refusal)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(wait):
            head = (await reader.readuntil(b"\r\n\r\n"))[:-4]
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
    finally:
        writer.close()
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return RawAnswer(status=status, head=head, body=body)


def http_get(path: str, *headers: bytes) -> bytes:
    """A GET as raw bytes, with header lines given as bytes (any bytes at all)."""
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: refbin.test", *headers]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])
