"""The listing's plans at scale: for an owner of 100,000 items, the first page and a deep page
of every scan look at no more than SCAN_LIMIT rows and sort no more than that, in PostgreSQL's
custom plans and in the generic plan it keeps after five calls; on the scan's own index they sort
nothing, and a page of a filter that index answers looks at no row it does not show."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot.db.listing import SCAN_SQL, Scan, answers_exactly, choose_scan, ilike_pattern
from bot.models import ListFilter
from bot.service.listing import SCAN_LIMIT

OWNED = 100_000
PAGE = 21  # a page of 20, and one to see on
# What each scan may walk (for a common kind, any index that keeps the order will do).
INDEX = {
    Scan.OWNER: ("refs_owner_listing",),
    Scan.KIND: ("refs_owner_kind",),
    Scan.HIDDEN: ("refs_owner_hidden",),
    Scan.PROTECTED: ("refs_owner_password",),
    Scan.LIMITED: ("refs_owner_limited",),
    # The expiry sweep's index, in expiry order too, for an owner who holds many of the items
    # expiring (here a third): it then meets others' items as well as the owner's.
    Scan.EXPIRING: ("refs_owner_expiry", "refs_expiry"),
    Scan.EVERYONE: ("refs_listing",),
    Scan.EVERYONE_EXPIRING: ("refs_expiry",),
}
# The indexes in which a scan's rows are contiguous and in the listing's order.
OWNERS_INDEXES = {"refs_owner_listing", "refs_owner_kind", "refs_owner_hidden"}
OWNERS_INDEXES |= {"refs_owner_password", "refs_owner_limited", "refs_owner_expiry"}
OWNERS_INDEXES |= {"refs_listing"}
FILTERS = {
    "none": ListFilter(),
    "a rare kind": ListFilter(kind="image"),
    "the common kind": ListFilter(kind="url"),
    "private": ListFilter(visibility="private"),
    "public": ListFilter(visibility="public"),
    "password": ListFilter(has_password=True),
    "no password": ListFilter(has_password=False),
    "view-limited": ListFilter(view_limited=True),
    "expiring": ListFilter(expiring_within=timedelta(days=7)),
    "text": ListFilter(text="example.com/1234"),
    "text and kind": ListFilter(text="4", kind="image"),
}
TYPES = (
    "bigint, timestamptz, text, int, int, ref_kind, visibility, boolean, boolean, timestamptz, text"
)


@pytest.fixture(scope="module")
async def loaded(postgres, template_database) -> AsyncIterator[tuple[str, int]]:
    """A database of 300,000 links: 100,000 of one owner, 100 each of 1,000 others, 100,000
    anonymous; some unlisted, private, with a password, a view limit or an expiry."""
    from tests.conftest import cloned_database

    async with cloned_database(postgres, template_database, "refbin_plans") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            heavy = await conn.fetchval(
                "INSERT INTO owners (name) VALUES ('heavy') RETURNING owner_id"
            )
            others = await conn.fetchval(
                """
                WITH made AS (
                    INSERT INTO owners (name) SELECT 'other ' || n FROM generate_series(1, 1000) n
                    RETURNING owner_id
                )
                SELECT min(owner_id) FROM made
                """
            )
            async with conn.transaction():
                # Links only (their urls rows are all a page reads), loaded past the triggers.
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute(
                    """
                    INSERT INTO refs (content_id, kind, digest, owner_id, visibility, created_at,
                                      expires_at, max_views, password_hash)
                    SELECT 'i' || i, 'url', sha256(int8send(i)),
                           CASE i % 3 WHEN 0 THEN $1::bigint WHEN 1 THEN $2 + i % 1000 END,
                           (CASE WHEN i % 30 = 0 THEN 'unlisted' WHEN i % 90 = 2 THEN 'private'
                                 ELSE 'public' END)::visibility,
                           now() - make_interval(secs => (300000 - i)::double precision),
                           CASE WHEN i % 10 = 0
                                THEN now() + make_interval(days => 1, secs => i::double precision)
                           END,
                           CASE WHEN i % 70 = 0 THEN 5 END,
                           CASE WHEN i % 50 = 0 THEN 'scrypt$x$y' END
                    FROM generate_series(1, 300000) AS i
                    """,
                    heavy,
                    others,
                )
                await conn.execute(
                    """
                    INSERT INTO urls (content_id, target)
                    SELECT 'i' || i, 'https://example.com/' || i FROM generate_series(1, 300000) i
                    """
                )
            await conn.execute("VACUUM ANALYZE refs")
            await conn.execute("VACUUM ANALYZE urls")
        finally:
            await conn.close()
        yield dsn, heavy


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


async def explain(
    conn: asyncpg.Connection, statement: str, args: list[Any], mode: str
) -> dict[str, Any]:
    """The executed plan of `statement` with `args`, as PostgreSQL plans it in `mode`."""
    await conn.execute(f"PREPARE page({TYPES}) AS {statement}")
    try:
        await conn.execute(f"SET plan_cache_mode = {mode}")
        literals = ", ".join(
            "NULL" if arg is None else "'" + str(arg).replace("'", "''") + "'" for arg in args
        )
        text = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page({literals})")
    finally:
        await conn.execute("DEALLOCATE page")
    return json.loads(text)[0]["Plan"]


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("name", list(FILTERS))
async def test_every_page_walks_its_index_and_looks_at_a_bounded_number_of_rows(
    loaded: tuple[str, int], name: str, mode: str
) -> None:
    dsn, heavy = loaded
    filters = FILTERS[name]
    conn = await asyncpg.connect(dsn)
    try:
        for owner_id in (heavy, None):  # the owner's listing, and the operators'
            scan, value = choose_scan(owner_id, filters)
            within = filters.expiring_within
            until = None if within is None else datetime.now(UTC) + within
            key = "expires_at" if scan.by_expiry else "created_at"
            direction = "" if scan.by_expiry else "DESC"
            # A deep page: 90% of the way through the listing's rows.
            where_listed = (
                "($1::bigint IS NULL OR owner_id = $1) AND ($2::timestamptz IS NULL"
                " OR (expires_at > now() AND expires_at <= $2))"
            )
            count = await conn.fetchval(
                f"SELECT count(*) FROM refs WHERE {where_listed}", owner_id, until
            )
            deep = await conn.fetchrow(
                f"""
                SELECT {key}, content_id FROM refs
                WHERE {where_listed}
                ORDER BY {key} {direction}, content_id {direction}
                OFFSET $3
                LIMIT 1
                """,
                owner_id,
                until,
                count * 9 // 10,
            )
            for after in (None, (deep[0], deep[1])):
                args = [
                    owner_id,
                    after[0] if after else None,
                    after[1] if after else None,
                    PAGE if answers_exactly(scan, filters) else SCAN_LIMIT,
                    PAGE,
                    filters.kind,
                    filters.visibility,
                    filters.has_password,
                    filters.view_limited,
                    until,
                    ilike_pattern(filters.text) if filters.text else None,
                ]
                plan = await explain(conn, SCAN_SQL[scan, value], args, mode)
                where = f"{name}, owner {owner_id}, {'deep' if after else 'first'} page"
                walked = [n for n in nodes(plan) if n.get("Relation Name") == "refs"]
                assert len(walked) == 1, where
                refs = walked[0]
                looked_at = refs["Actual Rows"] + refs.get("Rows Removed by Filter", 0)
                # Bounded, whatever the owner holds: never all of the owner's 100,000 rows.
                assert looked_at <= SCAN_LIMIT, where
                for node in nodes(plan):
                    if "Sort" in node["Node Type"]:
                        assert node["Plans"][0]["Actual Rows"] <= SCAN_LIMIT, where
                if refs["Node Type"] != "Index Scan":
                    # PostgreSQL may fetch and sort what it expects to be a handful of rows.
                    assert refs["Node Type"] == "Bitmap Heap Scan", where
                    continue
                if name != "the common kind":
                    assert refs["Index Name"] in INDEX[scan], where
                if refs["Index Name"] in OWNERS_INDEXES:
                    assert not any("Sort" in node["Node Type"] for node in nodes(plan)), where
                    if answers_exactly(scan, filters):
                        assert looked_at <= PAGE, where
    finally:
        await conn.close()
