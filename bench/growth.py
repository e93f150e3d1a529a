"""Growth: p99 of redirect, create, the first and a deep page of an owner's listing (the owner
of 1 item in 100: 100,000 at 10,000,000 items) and an item's per-day stats, through the content
service, on one database. Run on the server's core:

    python -m bench.growth DSN DATA_DIR SAMPLES ITEMS  -> JSON on stdout

The redirect is timed on the cache's miss path (the cache is emptied before each lookup), so
the figure is the database's, whatever the size of the cache.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.dataload import HEAVY_OWNER, content_id
from bot.config import DatabaseSettings, load_settings
from bot.db.listing import SCAN_SQL, Scan
from bot.models import Visit
from bot.runtime import open_runtime
from bot.service.listing import encode_cursor


async def timed(samples: int, call: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    for k in range(min(50, samples // 4)):  # warm the pool's prepared statements
        await call(-1 - k)
    latencies = []
    for k in range(samples):
        start = time.perf_counter()
        await call(k)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def measure(dsn: str, data_dir: Path, samples: int, items: int) -> dict[str, object]:
    base = load_settings(None, environ={})
    settings = dataclasses.replace(
        base,
        database=DatabaseSettings(url=dsn, data_dir=data_dir, pool_max=4),
        limits=dataclasses.replace(base.limits, rate_create=0, rate_read=0, rate_delete=0),
    )
    rng = random.Random(11)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        pool = runtime.db.pool
        owner = await pool.fetchval("SELECT owner_id FROM owners WHERE name = $1", HEAVY_OWNER)
        owned = await pool.fetchval("SELECT count(*) FROM refs WHERE owner_id = $1", owner)
        deep = await pool.fetchrow(
            """
            SELECT created_at, content_id
            FROM refs
            WHERE owner_id = $1
            ORDER BY created_at DESC, content_id DESC
            OFFSET $2
            LIMIT 1
            """,
            owner,
            int(owned * 0.9),
        )
        cursor = encode_cursor(deep["created_at"], deep["content_id"])
        heavy_ids = [
            row["content_id"]
            for row in await pool.fetch(
                "SELECT content_id FROM refs WHERE owner_id = $1 LIMIT 1000", owner
            )
        ]
        tag = f"{time.time_ns()}"

        async def redirect(_k: int) -> None:
            cache = getattr(service, "cache", None)
            if cache is not None:
                cache.clear()
            await service.resolve(content_id(rng.randint(1, items)), visit=Visit())

        async def create(k: int) -> None:
            await service.add_link(f"https://example.com/growth/{tag}/{k}")

        async def listing_first(_k: int) -> None:
            page = await service.list_owned(owner, limit=20)
            assert page.items

        async def listing(_k: int) -> None:
            page = await service.list_owned(owner, cursor=cursor, limit=20)
            assert page.items

        async def stats(_k: int) -> None:
            await service.stats(rng.choice(heavy_ids), owner_id=owner, days=30)

        result: dict[str, object] = {"items": items, "owned_by_heavy_owner": owned}

        async def sweep(_k: int) -> None:
            await service.sweep()

        for name, call, count in (
            ("redirect", redirect, samples),
            ("create", create, samples),
            ("listing_first", listing_first, samples),
            ("listing", listing, samples),
            ("stats", stats, samples),
            ("sweep", sweep, 20),
        ):
            result[name] = await timed(count, call)
        # The listing's own statement (bot/db/listing.py), as its pages run it: 21 rows.
        for name, after in (("listing_first_plan", None), ("listing_plan", deep)):
            explain = await pool.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + SCAN_SQL[Scan.OWNER, None],
                owner,
                after["created_at"] if after else None,
                after["content_id"] if after else None,
                21,
                21,
                *([None] * 6),
            )
            result[name] = "\n".join(row[0] for row in explain)
    return result


def main() -> None:
    dsn, data_dir, samples, items = sys.argv[1:5]
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    result = asyncio.run(measure(dsn, Path(data_dir), int(samples), int(items)))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
