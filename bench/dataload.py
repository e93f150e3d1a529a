"""Bulk data in SQL: links, owners and visit rows made with generate_series, fast.

The deferred subtype trigger (and the foreign keys) are switched off for the loading session
with `session_replication_role = replica`; the load then proves the invariant they guard with
one query (every refs row has its urls row), so nothing the triggers would refuse got in.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import asyncpg

HEAVY_OWNER = "bench-heavy"
# The id of item i: 10 base64url characters of sha256(i as 8 big-endian bytes).
ID_SQL = "translate(left(encode(sha256(int8send({i})), 'base64'), 10), '+/', '-_')"


def content_id(i: int) -> str:
    digest = hashlib.sha256(i.to_bytes(8, "big", signed=True)).digest()
    return base64.urlsafe_b64encode(digest).decode()[:10]


def target(i: int) -> str:
    return f"https://example.com/bench/item/{i}"


def write_ids(path: Path, count: int) -> Path:
    """A file of `count` lines "id<TAB>target", for wrk's Lua script and the references."""
    if not path.exists() or sum(1 for _ in path.open()) != count:
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            for i in range(1, count + 1):
                handle.write(f"{content_id(i)}\t{target(i)}\n")
        tmp.replace(path)
    return path


async def load(
    conn: asyncpg.Connection, items: int, visits_per_item: int = 0, *, heavy_share: int = 100
) -> dict[str, float]:
    """Add links 1..items (skipping what is there), an owner holding 1 in `heavy_share` of them,
    and `visits_per_item` visit rows (days back from today) for each. Seconds per step."""
    timings: dict[str, float] = {}
    have = await conn.fetchval(
        "SELECT count(*) FROM urls WHERE target LIKE 'https://example.com/bench/item/%'"
    )
    heavy = await conn.fetchval("SELECT owner_id FROM owners WHERE name = $1", HEAVY_OWNER)
    if heavy is None:
        heavy = await conn.fetchval(
            "INSERT INTO owners (name) VALUES ($1) RETURNING owner_id", HEAVY_OWNER
        )
    if have >= items:
        return timings
    start = time.perf_counter()
    idx = ID_SQL.format(i="i")
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("SET LOCAL work_mem = '512MB'")
        await conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        await conn.execute("SET LOCAL synchronous_commit = off")
        await conn.execute(
            f"""
            INSERT INTO refs (content_id, kind, digest, owner_id, visibility, created_at)
            SELECT {idx}, 'url', sha256(int8send(i)),
                   CASE WHEN i % $3 = 0 THEN $4::bigint END,
                   'public', now() - make_interval(secs => ($2 - i)::double precision)
            FROM generate_series($1::bigint, $2::bigint) AS i
            ORDER BY 1
            """,
            have + 1,
            items,
            heavy_share,
            heavy,
        )
        await conn.execute(
            f"""
            INSERT INTO urls (content_id, target)
            SELECT {idx}, 'https://example.com/bench/item/' || i
            FROM generate_series($1::bigint, $2::bigint) AS i
            ORDER BY 1
            """,
            have + 1,
            items,
        )
        timings["items"] = time.perf_counter() - start
        if visits_per_item:
            start = time.perf_counter()
            await conn.execute(
                """
                INSERT INTO visits (content_id, day, referrer, count)
                SELECT r.content_id, current_date - d,
                       CASE WHEN d % 3 = 0 THEN 'example.org' ELSE '' END, 1 + d
                FROM (SELECT content_id FROM refs ORDER BY content_id) AS r,
                     generate_series(0, $1 - 1) AS d
                ON CONFLICT DO NOTHING
                """,
                visits_per_item,
            )
            timings["visits"] = time.perf_counter() - start
        orphans = await conn.fetchval(
            """
            SELECT count(*)
            FROM refs r
            LEFT JOIN urls u ON u.content_id = r.content_id
            WHERE r.kind = 'url' AND u.content_id IS NULL
            """
        )
        if orphans:
            raise RuntimeError(f"{orphans} refs rows without their subtype row")
    start = time.perf_counter()
    await conn.execute("VACUUM (ANALYZE) refs")
    await conn.execute("VACUUM (ANALYZE) urls")
    if visits_per_item:
        await conn.execute("VACUUM (ANALYZE) visits")
    timings["vacuum"] = time.perf_counter() - start
    return timings
