"""Background jobs run in every process, and each job's work is done exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.models import ItemOptions, Visit
from bot.runtime import open_runtime
from tests.helpers import chunks_of


async def test_two_processes_sweeping_at_once_remove_each_item_once(settings) -> None:
    async with open_runtime(settings) as first, open_runtime(settings) as second:
        for runtime in (first, second):
            runtime.service.blob_grace = timedelta(0)
        for n in range(40):
            await first.service.add_upload(
                chunks_of(f"expiring {n}".encode() * 50),
                options=ItemOptions(expires_in=timedelta(hours=1)),
            )
        await first.db.pool.execute(
            """
            UPDATE refs
            SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
            """
        )
        reports = await asyncio.gather(first.service.sweep(batch=7), second.service.sweep(batch=7))
        assert sum(r.expired for r in reports) == 40
        assert sum(r.blobs_removed for r in reports) == 40
        assert await first.db.pool.fetchval("SELECT count(*) FROM refs") == 0
        assert await first.db.pool.fetchval("SELECT count(*) FROM blobs") == 0


async def test_two_processes_flushing_count_every_visit_once(settings) -> None:
    async with open_runtime(settings) as first, open_runtime(settings) as second:
        created = await first.service.add_link("https://example.com/both")
        content_id = created.item.content_id
        for _ in range(30):
            await first.service.resolve(content_id, visit=Visit())
            await second.service.resolve(content_id, visit=Visit(referrer="r.example"))
        await asyncio.gather(
            first.service.counter.flush(first.db.pool),
            second.service.counter.flush(second.db.pool),
            first.service.counter.flush(first.db.pool),
        )
        assert (await first.service.get(content_id)).views == 60
        total = await first.db.pool.fetchval(
            "SELECT sum(count) FROM visits WHERE content_id = $1", content_id
        )
        assert total == 60
