"""Listings: an owner's items (or, for operators, everyone's) with filters, a page at a time.

A page is read in two statements, as before: the page's ids from one index (this module's
`scan_page`), then those items (`fetch_listed`). Each has a small generic plan that PostgreSQL
keeps (one joined statement had none at 10,000,000 items: 1.6 ms planned afresh per call).

The scan walks one index from the cursor on, in the listing's order, through at most `scan_limit`
rows, and marks each row it meets as a hit or not by every filter; the index is chosen by the
filters (`Scan`), so that the rows of a rare filter are contiguous in it and a page of them costs
about its own rows. Filters no index serves (the text filter, a public-only or a "no password"
filter, and combinations) are tested on the rows met, never on more than `scan_limit` of them:
a page costs a bounded amount whatever the owner holds, and may come back short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import asyncpg

from bot.db.items import ITEM_COLUMNS, ITEM_FROM, item_values
from bot.db.pool import Queryable
from bot.models import ListedItem, ListFilter


class Scan(Enum):
    """The index a listing page walks, by the predicate that selects its rows."""

    OWNER = "r.owner_id = $1"
    KIND = "r.owner_id = $1 AND r.kind = $6"
    HIDDEN = "r.owner_id = $1 AND r.visibility <> 'public' AND r.visibility = $7"
    PROTECTED = "r.owner_id = $1 AND r.password_hash IS NOT NULL"
    LIMITED = "r.owner_id = $1 AND r.max_views IS NOT NULL"
    # The range of expiries asked for bounds the scan itself.
    EXPIRING = "r.owner_id = $1 AND r.expires_at > now() AND r.expires_at <= $10"
    EVERYONE = "TRUE"
    EVERYONE_EXPIRING = "r.expires_at > now() AND r.expires_at <= $10"

    @property
    def by_expiry(self) -> bool:
        """Soonest expiry first (else newest first)."""
        return self in (Scan.EXPIRING, Scan.EVERYONE_EXPIRING)


def choose_scan(owner_id: int | None, filters: ListFilter) -> Scan:
    """The index for a page: the filter likeliest to be rare that has one."""
    if owner_id is None:
        return Scan.EVERYONE_EXPIRING if filters.expiring_within else Scan.EVERYONE
    if filters.expiring_within is not None:
        return Scan.EXPIRING
    if filters.has_password:
        return Scan.PROTECTED
    if filters.view_limited:
        return Scan.LIMITED
    if filters.visibility in ("unlisted", "private"):
        return Scan.HIDDEN
    if filters.kind is not None:
        return Scan.KIND
    return Scan.OWNER


# Whether a row meets every filter ($n NULL: that filter is not asked for). A subtype table is
# probed only for rows of its kind (the text filter matches a link's target or a file's name).
_HIT = """
    ($1::bigint IS NULL OR r.owner_id = $1)
    AND ($6::ref_kind IS NULL OR r.kind = $6)
    AND ($7::visibility IS NULL OR r.visibility = $7)
    AND ($8::boolean IS NULL OR (r.password_hash IS NOT NULL) = $8)
    AND ($9::boolean IS NULL OR (r.max_views IS NOT NULL) = $9)
    AND ($10::timestamptz IS NULL OR (r.expires_at > now() AND r.expires_at <= $10))
    AND (
        $11::text IS NULL
        OR r.content_id ILIKE $11
        OR (r.kind = 'url' AND EXISTS (
            SELECT 1 FROM urls WHERE content_id = r.content_id AND target ILIKE $11))
        OR (r.kind = 'text' AND EXISTS (
            SELECT 1 FROM texts WHERE content_id = r.content_id AND filename ILIKE $11))
        OR (r.kind = 'image' AND EXISTS (
            SELECT 1 FROM images WHERE content_id = r.content_id AND filename ILIKE $11))
        OR (r.kind = 'file' AND EXISTS (
            SELECT 1 FROM files WHERE content_id = r.content_id AND filename ILIKE $11))
    )
"""
# Each order: where a page starts after the cursor's row ($2, $3; the listing's start without
# one), the scan's order, and the same order outside the scan (kept, so never sorted again).
_NEWEST_FIRST = (
    "(r.created_at, r.content_id)"
    " < (COALESCE($2::timestamptz, 'infinity'), COALESCE($3::text, ''))",
    "r.created_at DESC, r.content_id DESC",
    "created_at DESC, content_id DESC",
)
_SOONEST_FIRST = (
    "(r.expires_at, r.content_id)"
    " > (COALESCE($2::timestamptz, '-infinity'), COALESCE($3::text, ''))",
    "r.expires_at, r.content_id",
    "expires_at, content_id",
)


def _scan_sql(scan: Scan) -> str:
    """The statement of one scan: the rows met, in order, each marked as a hit or not; of those,
    the hits up to the page's size ($5) and the last row met when the scan used up $4 rows."""
    after, order, outer_order = _SOONEST_FIRST if scan.by_expiry else _NEWEST_FIRST
    return f"""
        SELECT content_id, created_at, expires_at, hit, seen = $4 AS last
        FROM (
            SELECT r.content_id, r.created_at, r.expires_at, ({_HIT}) AS hit,
                   row_number() OVER (ORDER BY {order}) AS seen
            FROM refs r
            WHERE {scan.value}
              AND {after}
            ORDER BY {order}
            LIMIT $4
        ) AS met
        WHERE hit OR seen = $4
        ORDER BY {outer_order}
        LIMIT $5
    """


_SCAN_SQL = {scan: _scan_sql(scan) for scan in Scan}


@dataclass(frozen=True)
class ScanRow:
    """A row a scan met: a hit, or (not a hit) the last row it met before its limit."""

    content_id: str
    created_at: datetime
    expires_at: datetime | None
    hit: bool
    last: bool


async def scan_page(
    conn: Queryable,
    owner_id: int | None,
    filters: ListFilter,
    after: tuple[datetime, str] | None,
    *,
    limit: int,
    scan_limit: int,
) -> list[ScanRow]:
    """Up to `limit` hits after the position `after` in the listing's order, and the last row
    met when the scan stopped at `scan_limit` rows (None of either: the listing's end)."""
    scan = choose_scan(owner_id, filters)
    within = filters.expiring_within
    until = None if within is None else datetime.now(UTC) + within
    rows = await conn.fetch(
        _SCAN_SQL[scan],
        owner_id,
        after[0] if after else None,
        after[1] if after else None,
        scan_limit,
        limit,
        filters.kind,
        filters.visibility,
        filters.has_password,
        filters.view_limited,
        until,
        ilike_pattern(filters.text) if filters.text else None,
    )
    return [ScanRow(*row) for row in rows]


def ilike_pattern(text: str) -> str:
    """`text` as an ILIKE pattern that finds it anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def fetch_listed(conn: Queryable, content_ids: Sequence[str]) -> list[ListedItem]:
    """The items among `content_ids` that exist, as a listing shows them, in no order."""
    rows = await conn.fetch(
        f"""
        SELECT {ITEM_COLUMNS}, t.first_line
        FROM {ITEM_FROM}
        WHERE r.content_id = ANY((SELECT $1::text[])::text[])
        """,
        content_ids,
    )
    return [listed_from_row(row) for row in rows]


def listed_from_row(row: asyncpg.Record) -> ListedItem:
    values = item_values(row)
    return ListedItem(*values)
