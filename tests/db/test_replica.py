"""database.read_url: read-only queries go to a replica; writes and view limits stay on the primary.

The replica here is the worst one possible: a read-only copy of the database frozen at one
moment, as a replica that stopped replaying would be. Nothing refbin decides about a view-limited
item may depend on it, and nothing may be written through it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.db import items as items_sql
from bot.errors import Gone, PasswordRequired
from bot.models import ItemOptions, Visit
from bot.runtime import Runtime, open_runtime
from bot.web import create_app
from tests.conftest import PostgresServer

ONCE = ItemOptions(max_views=1)


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


@asynccontextmanager
async def frozen_replica(settings: Settings, postgres: PostgresServer) -> AsyncIterator[Settings]:
    """The settings, with read_url a read-only copy of the database as it is now.

    The copy is taken with nothing connected to the database (PostgreSQL's rule for templates).
    """
    replica = database_name(settings.database.url) + "_replica"
    admin = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        await admin.execute(
            f"CREATE DATABASE {replica} TEMPLATE {database_name(settings.database.url)}"
        )
        await admin.execute(f"ALTER DATABASE {replica} SET default_transaction_read_only = on")
    finally:
        await admin.close()
    try:
        yield dataclasses.replace(
            settings,
            database=dataclasses.replace(settings.database, read_url=postgres.dsn(replica)),
        )
    finally:
        admin = await asyncpg.connect(postgres.dsn("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {replica} WITH (FORCE)")
        finally:
            await admin.close()


@asynccontextmanager
async def lagging_runtime(settings: Settings, postgres: PostgresServer) -> AsyncIterator[Runtime]:
    async with frozen_replica(settings, postgres) as lagging, open_runtime(lagging) as runtime:
        assert runtime.db.read_pool is not runtime.db.pool
        yield runtime


async def test_a_view_limited_item_is_decided_on_the_primary(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with open_runtime(settings) as runtime:
        created = await runtime.service.add_paste("read me once", options=ONCE)
    content_id = created.item.content_id

    async with lagging_runtime(settings, postgres) as runtime:
        service = runtime.service
        first = await service.resolve(content_id, visit=Visit())
        with pytest.raises(Gone):
            await service.resolve(content_id, visit=Visit())
        with pytest.raises(Gone):
            await service.get(content_id)
        on_replica = await items_sql.fetch_item(runtime.db.read_pool, content_id)

    assert first.content_id == content_id
    assert on_replica is not None and on_replica.views == 0  # the replica never saw the view


async def test_an_item_the_replica_has_used_up_is_served_once_the_primary_renewed_it(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with open_runtime(settings) as runtime:
        owner = await runtime.service.owner_for_discord_user(42, "owner")
        options = ItemOptions(owner_id=owner, max_views=1)
        created = await runtime.service.add_link("https://example.com/once", options=options)
        await runtime.service.resolve(created.item.content_id, visit=Visit())
    content_id = created.item.content_id

    async with lagging_runtime(settings, postgres) as runtime:
        renewed = await runtime.service.add_link("https://example.com/once", options=options)
        served = await runtime.service.resolve(content_id, visit=Visit())

    assert renewed.created and renewed.item.content_id == content_id
    assert served.target == "https://example.com/once"


async def test_an_item_added_after_the_replica_copy_is_found_on_the_primary(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with lagging_runtime(settings, postgres) as runtime:
        service = runtime.service
        plain = await service.add_link("https://example.com/new")
        locked = await service.add_paste("behind a password", options=ItemOptions(password="pw"))

        found = await service.resolve(plain.item.content_id, visit=Visit())
        with pytest.raises(PasswordRequired):
            await service.resolve(locked.item.content_id, password="wrong")
        opened = await service.resolve(locked.item.content_id, password="pw")

    assert found.target == "https://example.com/new"
    assert opened.kind == "text"


async def test_plain_reads_come_from_the_replica_and_writes_go_to_the_primary(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with open_runtime(settings) as runtime:
        created = await runtime.service.add_link("https://example.com/plain")
    content_id = created.item.content_id

    async with lagging_runtime(settings, postgres) as runtime:
        await runtime.service.delete(content_id, admin=True)
        # Deleted on the primary, still on the frozen replica: this read went to the replica.
        # (A real replica catches up within its lag; docs/deploy.md says so.)
        still_served = await runtime.service.get(content_id)
        on_primary = await items_sql.fetch_item(runtime.db.pool, content_id)

    assert still_served.target == "https://example.com/plain"
    assert on_primary is None


async def test_visits_are_flushed_to_the_primary(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with open_runtime(settings) as runtime:
        created = await runtime.service.add_link("https://example.com/counted")
    content_id = created.item.content_id

    async with lagging_runtime(settings, postgres) as runtime:
        for _ in range(3):
            await runtime.service.resolve(content_id, visit=Visit(referrer="chat.example"))
        await runtime.service.counter.flush(runtime.db.pool)
        on_primary = await items_sql.fetch_item(runtime.db.pool, content_id)

    assert on_primary is not None and on_primary.views == 3


async def test_concurrent_visits_over_http_get_a_view_limited_item_once(
    settings: Settings, postgres: PostgresServer
) -> None:
    async with open_runtime(settings) as runtime:
        created = await runtime.service.add_paste("only one of you", options=ONCE)
    path = "/" + created.item.content_id

    async with (
        lagging_runtime(settings, postgres) as runtime,
        TestClient(TestServer(create_app(runtime.service))) as client,
    ):
        responses = await asyncio.gather(*(client.get(path) for _ in range(20)))
        statuses = sorted(response.status for response in responses)
        bodies = [await r.text() for r in responses if r.status == 200]

    assert statuses == [200] + [410] * 19
    assert bodies == ["only one of you"]
