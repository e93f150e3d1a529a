"""The database reference: a single-row SELECT by primary key through an asyncpg pool.

    python -m bench.pgref DSN IDS_FILE CONCURRENCY SECONDS [hot]

Prints JSON: queries/s, p99 in ms. The client runs on the server's core, beside Postgres, as
refbin's own queries do (no HTTP in between).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

import asyncpg

QUERY = "SELECT target FROM urls WHERE content_id = $1"


async def run(dsn: str, ids: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    pool = await asyncpg.create_pool(dsn, min_size=min(concurrency, 10), max_size=10)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def worker() -> None:
        while (start := time.perf_counter()) < deadline:
            row = await pool.fetchrow(QUERY, ids[rng.randrange(len(ids))])
            assert row is not None
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    await pool.close()
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def main() -> None:
    dsn, ids_file, concurrency, seconds = sys.argv[1:5]
    with open(ids_file, encoding="utf-8") as handle:
        ids = [line.split("\t", 1)[0].strip() for line in handle]
    if len(sys.argv) > 5 and sys.argv[5] == "hot":
        ids = ids[:1]
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(dsn, ids, int(concurrency), float(seconds)))))


if __name__ == "__main__":
    main()
