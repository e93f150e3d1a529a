"""The item cache: read-through, bounded, short-lived, and never wrong about a delete, a block,
an expiry or a view limit, within one process or across two on the same database."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tracemalloc
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from bot.db import items as items_sql
from bot.errors import Blocked, Gone, NotFound, PasswordRequired
from bot.models import Item, ItemOptions, Visit
from bot.runtime import open_runtime
from bot.service.cache import ItemCache
from tests.helpers import chunks_of, png_bytes


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_loader(pool):
    """fetch_items, counting its calls and the ids asked for."""
    calls: list[list[str]] = []

    async def load(ids):
        calls.append(list(ids))
        return await items_sql.fetch_items(pool, ids)

    return load, calls


async def add_links(service, count: int, **options) -> list[str]:
    ids = []
    for n in range(count):
        created = await service.add_link(
            f"https://example.com/cache/{n}", options=ItemOptions(**options)
        )
        ids.append(created.item.content_id)
    return ids


async def test_second_visit_is_served_from_the_cache(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1)
    first = await service.resolve(content_id, visit=Visit())
    second = await service.resolve(content_id, visit=Visit())
    assert first == second
    assert (service.cache.misses, service.cache.hits) == (1, 1)


async def test_unknown_id_is_not_found_and_not_cached(runtime) -> None:
    with pytest.raises(NotFound):
        await runtime.service.resolve("nosuchid", visit=Visit())
    assert len(runtime.service.cache) == 0


async def test_entry_expires_after_its_ttl(runtime) -> None:
    clock = FakeClock()
    load, calls = counting_loader(runtime.db.pool)
    cache = ItemCache(load, short_ttl=2.0, clock=clock)
    [content_id] = await add_links(runtime.service, 1)
    await cache.get(content_id)
    clock.now += 1.9
    await cache.get(content_id)
    assert len(calls) == 1
    clock.now += 0.2
    await cache.get(content_id)
    assert len(calls) == 2


async def test_listening_cache_keeps_entries_longer(runtime) -> None:
    clock = FakeClock()
    load, calls = counting_loader(runtime.db.pool)
    cache = ItemCache(load, short_ttl=2.0, listening_ttl=30.0, clock=clock)
    cache.listening = True
    [content_id] = await add_links(runtime.service, 1)
    await cache.get(content_id)
    clock.now += 29
    await cache.get(content_id)
    assert len(calls) == 1


async def test_entry_lives_no_longer_than_the_item(runtime) -> None:
    clock = FakeClock()
    load, calls = counting_loader(runtime.db.pool)
    cache = ItemCache(load, short_ttl=60.0, clock=clock)
    [content_id] = await add_links(runtime.service, 1, expires_in=timedelta(seconds=5))
    await cache.get(content_id)
    clock.now += 5.01  # the item's expiry, on the cache's clock
    await cache.get(content_id)
    assert len(calls) == 2


async def test_cache_is_bounded_and_evicts_the_least_recently_used(runtime) -> None:
    load, calls = counting_loader(runtime.db.pool)
    cache = ItemCache(load, max_entries=3)
    ids = await add_links(runtime.service, 4)
    for content_id in ids[:3]:
        await cache.get(content_id)
    await cache.get(ids[0])  # now the most recently used
    await cache.get(ids[3])  # evicts ids[1]
    assert len(cache) == 3
    calls.clear()
    await cache.get(ids[0])
    await cache.get(ids[1])
    assert calls == [[ids[1]]]


async def test_concurrent_misses_are_fetched_with_one_query(runtime) -> None:
    load, calls = counting_loader(runtime.db.pool)
    cache = ItemCache(load)
    ids = await add_links(runtime.service, 20)
    items = await asyncio.gather(*(cache.get(i) for i in ids), cache.get(ids[0]))
    assert [item.content_id for item in items] == [*ids, ids[0]]
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(ids)


async def test_a_caller_giving_up_leaves_the_others_waiting_for_the_same_id(runtime) -> None:
    gate, started = asyncio.Event(), asyncio.Event()

    async def slow_load(ids):
        started.set()
        await gate.wait()
        return await items_sql.fetch_items(runtime.db.pool, ids)

    cache = ItemCache(slow_load)
    [content_id] = await add_links(runtime.service, 1)
    impatient = asyncio.ensure_future(cache.get(content_id))
    patient = asyncio.ensure_future(cache.get(content_id))
    await started.wait()
    impatient.cancel()
    gate.set()
    assert (await patient).content_id == content_id
    assert impatient.cancelled()


async def test_load_that_raced_an_invalidation_is_not_kept(runtime) -> None:
    gate, started = asyncio.Event(), asyncio.Event()

    async def slow_load(ids):
        started.set()
        await gate.wait()
        return await items_sql.fetch_items(runtime.db.pool, ids)

    cache = ItemCache(slow_load)
    [content_id] = await add_links(runtime.service, 1)
    pending = asyncio.ensure_future(cache.get(content_id))
    await started.wait()
    cache.invalidate(content_id)
    gate.set()
    assert (await pending).content_id == content_id
    assert len(cache) == 0


async def test_deleted_item_is_not_served_from_the_cache(runtime) -> None:
    service = runtime.service
    created = await service.add_link("https://example.com/deleted")
    content_id = created.item.content_id
    await service.resolve(content_id, visit=Visit())
    await service.delete(content_id, delete_token=created.delete_token)
    with pytest.raises(NotFound):
        await service.resolve(content_id, visit=Visit())


async def test_blocked_item_is_not_served_from_the_cache(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1)
    await service.resolve(content_id, visit=Visit())
    await service.block(content_id, "spam")
    with pytest.raises(Blocked):
        await service.resolve(content_id, visit=Visit())


async def test_password_is_checked_on_every_cached_visit(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1, password="sesame")
    await service.resolve(content_id, visit=Visit(), password="sesame")
    with pytest.raises(PasswordRequired):
        await service.resolve(content_id, visit=Visit(), password="wrong")
    assert service.cache.hits == 1


@contextlib.asynccontextmanager
async def second_process(settings):
    """Another refbin process's runtime on the same database (its own pool, cache, listener)."""
    async with open_runtime(settings) as other:
        yield other


def invalidation_seen(cache: ItemCache, content_id: str) -> asyncio.Event:
    """An event set when `cache` is told (by NOTIFY) to drop `content_id`."""
    seen = asyncio.Event()
    invalidate = cache.invalidate

    def spy(changed: str) -> None:
        invalidate(changed)
        if changed == content_id:
            seen.set()

    cache.invalidate = spy
    return seen


async def test_delete_in_one_process_reaches_the_other_at_once(runtime, settings) -> None:
    async with second_process(settings) as other:
        assert runtime.service.cache.listening and other.service.cache.listening
        created = await runtime.service.add_link("https://example.com/shared")
        content_id = created.item.content_id
        await other.service.resolve(content_id, visit=Visit())
        seen = invalidation_seen(other.service.cache, content_id)
        await runtime.service.delete(content_id, delete_token=created.delete_token)
        await asyncio.wait_for(seen.wait(), 10)
        with pytest.raises(NotFound):
            await other.service.resolve(content_id, visit=Visit())


async def test_block_in_one_process_reaches_the_other(runtime, settings) -> None:
    async with second_process(settings) as other:
        [content_id] = await add_links(runtime.service, 1)
        await other.service.resolve(content_id, visit=Visit())
        seen = invalidation_seen(other.service.cache, content_id)
        await runtime.service.block(content_id, "spam")
        await asyncio.wait_for(seen.wait(), 10)
        with pytest.raises(Blocked):
            await other.service.resolve(content_id, visit=Visit())


async def test_view_limit_is_exact_across_two_processes(runtime, settings) -> None:
    async with second_process(settings) as other:
        [content_id] = await add_links(runtime.service, 1, max_views=3)
        served = 0
        for n in range(8):
            service = (runtime.service, other.service)[n % 2]
            try:
                await service.resolve(content_id, visit=Visit())
                served += 1
            except Gone:
                pass
        assert served == 3
        assert len(runtime.service.cache) == len(other.service.cache) == 0


async def test_listener_loss_empties_the_cache_and_reconnects(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1)
    await service.resolve(content_id, visit=Visit())
    assert len(service.cache) == 1
    cleared = asyncio.Event()
    clear = service.cache.clear

    def spy() -> None:
        clear()
        cleared.set()

    service.cache.clear = spy
    await runtime.db.pool.execute(
        """
        SELECT pg_terminate_backend(pid)
        FROM pg_stat_activity
        WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()
          AND datname = current_database()
        """
    )
    await asyncio.wait_for(cleared.wait(), 10)
    assert len(service.cache) == 0
    assert not service.cache.listening


# ---- the statement the cache loads with ----------------------------------------------------


async def test_item_columns_are_the_item_fields_in_order(runtime) -> None:
    """item_from_row builds an Item positionally: the columns must be its fields, in order."""
    async with runtime.db.pool.acquire() as conn:
        statement = await conn.prepare(
            f"SELECT {items_sql.ITEM_COLUMNS} FROM {items_sql.ITEM_FROM} WHERE FALSE"
        )
        columns = [attribute.name for attribute in statement.get_attributes()]
    assert columns == [field.name for field in fields(Item)]


async def test_one_batch_reads_every_kind_with_its_own_columns(runtime) -> None:
    service = runtime.service
    link = (await service.add_link("https://example.com/kinds")).item
    paste = (await service.add_paste("print(1)\n", language="python", filename="a.py")).item
    image = (await service.add_upload(chunks_of(png_bytes()), filename="p.png")).item
    file = (await service.add_upload(chunks_of(b"\x00\x01" * 100), filename="b.bin")).item
    ids = [link.content_id, paste.content_id, image.content_id, file.content_id, "nosuchid"]
    found = {item.content_id: item for item in await items_sql.fetch_items(runtime.db.pool, ids)}
    assert set(found) == set(ids[:4])
    for content_id in ids[:4]:
        assert found[content_id] == await items_sql.fetch_item(runtime.db.pool, content_id)
    url = found[link.content_id]
    assert (url.kind, url.target, url.sha256, url.size) == (
        "url",
        "https://example.com/kinds",
        None,
        None,
    )
    text = found[paste.content_id]
    assert (text.kind, text.language, text.line_count, text.filename) == (
        "text",
        "python",
        1,
        "a.py",
    )
    assert (text.sha256, text.size, text.target, text.width) == (paste.sha256, 9, None, None)
    assert text.media_type is not None
    picture = found[image.content_id]
    assert (picture.kind, picture.width, picture.height) == ("image", image.width, image.height)
    assert (picture.media_type, picture.filename) == ("image/png", "p.png")
    assert picture.thumb_sha256 == image.thumb_sha256 is not None
    blob = found[file.content_id]
    assert (blob.kind, blob.filename, blob.size) == ("file", "b.bin", 200)
    assert (blob.language, blob.width, blob.target) == (None, None, None)
    # The enum values are shared, not copied per row.
    again = await items_sql.fetch_item(runtime.db.pool, link.content_id)
    assert again is not None and again.kind is url.kind and again.visibility is blob.visibility


async def test_small_batches_keep_a_generic_plan(runtime) -> None:
    """With `= ANY($1)` PostgreSQL planned every batch of a few ids afresh (a custom plan each
    time); the statement must settle on its generic plan after the first five."""
    [content_id] = await add_links(runtime.service, 1)
    async with runtime.db.pool.acquire() as conn:
        for n in range(12):
            ids = [content_id] + [f"missing{k}" for k in range(n % 3)]
            assert len(await items_sql.fetch_items(conn, ids)) == 1
        plans = await conn.fetchrow(
            """
            SELECT generic_plans, custom_plans FROM pg_prepared_statements
            WHERE statement LIKE '%ANY((SELECT $1::text[])::text[])%'
              AND statement NOT LIKE '%pg_prepared_statements%'
            """
        )
    assert plans is not None
    assert plans["custom_plans"] <= 5 and plans["generic_plans"] >= 7


# ---- what is never cached, and what is never served from it -------------------------------


async def test_view_limited_items_are_never_cached(runtime) -> None:
    service = runtime.service
    [limited] = await add_links(service, 1, max_views=5)
    [plain] = await add_links(service, 1)
    await asyncio.gather(service.resolve(limited, visit=Visit()), service.resolve(plain))
    assert len(service.cache) == 1
    await service.resolve(limited)
    assert service.cache.hits == 0


async def test_item_expired_when_loaded_is_gone_and_not_cached(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1, expires_in=timedelta(hours=1))
    await runtime.db.pool.execute(
        """
        UPDATE refs
        SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
        WHERE content_id = $1
        """,
        content_id,
    )
    with pytest.raises(Gone):
        await service.resolve(content_id, visit=Visit())
    assert len(service.cache) == 0


async def test_item_that_expires_while_cached_is_gone(runtime) -> None:
    service = runtime.service
    [content_id] = await add_links(service, 1, expires_in=timedelta(seconds=1.5))
    await service.resolve(content_id, visit=Visit())
    assert len(service.cache) == 1
    await asyncio.sleep(1.6)
    with pytest.raises(Gone):
        await service.resolve(content_id, visit=Visit())


# ---- batching: misses wait for a free load ------------------------------------------------


async def test_misses_wait_for_a_free_load_and_go_together(runtime) -> None:
    gate = asyncio.Event()
    calls: list[list[str]] = []
    running = [0, 0]  # now, most at once

    async def slow_load(ids):
        calls.append(list(ids))
        running[0] += 1
        running[1] = max(running)
        try:
            await gate.wait()
            return await items_sql.fetch_items(runtime.db.pool, ids)
        finally:
            running[0] -= 1

    cache = ItemCache(slow_load, max_loads=1)
    ids = await add_links(runtime.service, 4)
    first = asyncio.ensure_future(cache.get(ids[0]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = []
    for content_id in ids[1:]:  # each in a turn of its own, all while the first load runs
        later.append(asyncio.ensure_future(cache.get(content_id)))
        await asyncio.sleep(0)
    assert calls == [[ids[0]]]
    gate.set()
    items = await asyncio.gather(first, *later)
    assert [item.content_id for item in items] == ids
    assert calls == [[ids[0]], ids[1:]]
    assert running[1] == 1
    assert len(cache) == 4


async def test_an_id_whose_callers_all_gave_up_is_not_fetched(runtime) -> None:
    gate = asyncio.Event()
    calls: list[list[str]] = []

    async def slow_load(ids):
        calls.append(list(ids))
        await gate.wait()
        return await items_sql.fetch_items(runtime.db.pool, ids)

    cache = ItemCache(slow_load, max_loads=1)
    ids = await add_links(runtime.service, 3)
    first = asyncio.ensure_future(cache.get(ids[0]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    abandoned = asyncio.ensure_future(cache.get(ids[1]))
    kept = asyncio.ensure_future(cache.get(ids[2]))
    await asyncio.sleep(0)
    abandoned.cancel()
    gate.set()
    assert (await first).content_id == ids[0]
    assert (await kept).content_id == ids[2]
    assert calls == [[ids[0]], [ids[2]]]


async def test_a_failed_load_frees_its_slot(runtime) -> None:
    failures = [RuntimeError("database away")]

    async def flaky_load(ids):
        if failures:
            raise failures.pop()
        return await items_sql.fetch_items(runtime.db.pool, ids)

    cache = ItemCache(flaky_load, max_loads=1)
    [content_id] = await add_links(runtime.service, 1)
    with pytest.raises(RuntimeError):
        await cache.get(content_id)
    assert (await cache.get(content_id)).content_id == content_id


# ---- memory --------------------------------------------------------------------------------


async def test_an_entry_costs_little_memory() -> None:
    """What one cached link keeps alive (its Item, strings, datetime, the entry and the
    OrderedDict's share) stays near the 540 bytes that bot/service/cache.py's bound is sized for."""
    count = 5000
    created = datetime(2026, 1, 1, tzinfo=UTC)

    def row(n: int) -> list[object]:
        values: dict[str, object] = {f.name: None for f in fields(Item)}
        values.update(
            content_id="".join(["k", f"{n:09d}"]),  # fresh strings, as asyncpg makes them
            kind="".join(["u", "rl"]),
            visibility="".join(["pub", "lic"]),
            created_at=created.replace(microsecond=n),
            views=0,
            has_password=False,
            target=f"https://example.com/bench/item/{n}",
        )
        return list(values.values())

    async def load(ids):
        return [items_sql.item_from_row(row(int(content_id[1:]))) for content_id in ids]

    cache = ItemCache(load, max_entries=count)
    wanted = [f"k{n:09d}" for n in range(count)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for start in range(0, count, 64):
            await asyncio.gather(*(cache.get(i) for i in wanted[start : start + 64]))
        gc.collect()
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert len(cache) == count
    assert not hasattr(await cache.get(wanted[0]), "__dict__")
    assert per_entry < 620, per_entry
