"""The item cache: read-through, bounded, short-lived, and never wrong about a delete, a block,
an expiry or a view limit, within one process or across two on the same database."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest

from bot import queries
from bot.cache import ItemCache
from bot.errors import Blocked, Gone, NotFound, PasswordRequired
from bot.models import ItemOptions, Visit
from bot.runtime import open_runtime


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
        return await queries.fetch_items(pool, ids)

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
        return await queries.fetch_items(runtime.db.pool, ids)

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
        return await queries.fetch_items(runtime.db.pool, ids)

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
