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
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import Enum

import asyncpg

from bot.db.items import ITEM_COLUMNS, ITEM_FROM, item_values
from bot.db.pool import Queryable
from bot.models import KINDS, ListedItem, ListFilter


class Scan(Enum):
    """The index a listing page walks, by the predicate that selects its rows.

    A kind or a visibility is written into its scan's statement (one statement per value, from
    the closed sets of bot/models.py, never from a caller): as a parameter, PostgreSQL's generic
    plan cannot tell a rare kind from a common one, and walked the owner's whole listing index
    for an image (256 ms at 3,000,000 items) instead of the kind's own.
    """

    OWNER = "r.owner_id = $1"
    KIND = "r.owner_id = $1 AND r.kind = '{}'"
    HIDDEN = "r.owner_id = $1 AND r.visibility <> 'public' AND r.visibility = '{}'"
    PROTECTED = "r.owner_id = $1 AND r.password_hash IS NOT NULL"
    LIMITED = "r.owner_id = $1 AND r.max_views IS NOT NULL"
    # The range of expiries asked for bounds the scan itself.
    EXPIRING = "r.owner_id = $1 AND r.expires_at > now() AND r.expires_at <= $10"
    # Spelled as refs_listing's predicate (007), which no owner's scan implies: that index
    # walks every owner's items, and an owner's scan must never be planned on it.
    EVERYONE = "r.created_at > '-infinity'"
    EVERYONE_EXPIRING = "r.expires_at > now() AND r.expires_at <= $10"

    @property
    def by_expiry(self) -> bool:
        """Soonest expiry first (else newest first)."""
        return self in (Scan.EXPIRING, Scan.EVERYONE_EXPIRING)


HIDDEN = ("unlisted", "private")


def answers_exactly(scan: Scan, filters: ListFilter) -> bool:
    """Whether every row the scan meets passes `filters` (it asks for nothing the scan's own
    predicate does not): then a page looks at no more rows than it shows."""
    asked = {field.name for field in fields(filters) if getattr(filters, field.name) is not None}
    answered = {
        Scan.OWNER: set(),
        Scan.KIND: {"kind"},
        Scan.HIDDEN: {"visibility"},
        Scan.PROTECTED: {"has_password"} if filters.has_password else set(),
        Scan.LIMITED: {"view_limited"} if filters.view_limited else set(),
        Scan.EXPIRING: {"expiring_within"},
        Scan.EVERYONE: set(),
        Scan.EVERYONE_EXPIRING: {"expiring_within"},
    }[scan]
    return asked <= answered


def choose_scan(owner_id: int | None, filters: ListFilter) -> tuple[Scan, str | None]:
    """The index for a page, the filter likeliest to be rare that has one, and the kind or
    visibility it is for."""
    if owner_id is None:
        return (Scan.EVERYONE_EXPIRING if filters.expiring_within else Scan.EVERYONE), None
    if filters.expiring_within is not None:
        return Scan.EXPIRING, None
    if filters.has_password:
        return Scan.PROTECTED, None
    if filters.view_limited:
        return Scan.LIMITED, None
    if filters.visibility in HIDDEN:
        return Scan.HIDDEN, filters.visibility
    if filters.kind is not None:
        return Scan.KIND, filters.kind
    return Scan.OWNER, None


# Whether a row meets every filter ($n NULL: that filter is not asked for). The text filter reads
# a link's target or a file's name from the row's own subtype table, by its primary key: a
# scalar subquery, which PostgreSQL runs per row, where EXISTS would become a hashed subplan that
# reads the whole table once (all of urls, for a page of 2,000 rows).
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
        OR (r.kind = 'url'
            AND (SELECT target FROM urls WHERE content_id = r.content_id) ILIKE $11)
        OR (r.kind = 'text'
            AND (SELECT filename FROM texts WHERE content_id = r.content_id) ILIKE $11)
        OR (r.kind = 'image'
            AND (SELECT filename FROM images WHERE content_id = r.content_id) ILIKE $11)
        OR (r.kind = 'file'
            AND (SELECT filename FROM files WHERE content_id = r.content_id) ILIKE $11)
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


def _scan_sql(scan: Scan, value: str | None) -> str:
    """The statement of one scan: the rows met, in order, each marked as a hit or not; of those,
    the hits up to the page's size ($5) and the last row met when the scan used up $4 rows."""
    after, order, outer_order = _SOONEST_FIRST if scan.by_expiry else _NEWEST_FIRST
    return f"""
        SELECT content_id, created_at, expires_at, hit, seen = $4 AS last
        FROM (
            SELECT r.content_id, r.created_at, r.expires_at, ({_HIT}) AS hit,
                   row_number() OVER (ORDER BY {order}) AS seen
            FROM refs r
            WHERE {scan.value.format(value)}
              AND {after}
            ORDER BY {order}
            LIMIT $4
        ) AS met
        WHERE hit OR seen = $4
        ORDER BY {outer_order}
        LIMIT $5
    """


_VALUES: dict[Scan, tuple[str | None, ...]] = {Scan.KIND: KINDS, Scan.HIDDEN: HIDDEN}
SCAN_SQL = {
    (scan, value): _scan_sql(scan, value) for scan in Scan for value in _VALUES.get(scan, (None,))
}


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
    scan, value = choose_scan(owner_id, filters)
    statement = SCAN_SQL[scan, value]
    if answers_exactly(scan, filters):
        # As the scan's LIMIT, the page's size lets PostgreSQL plan for a page, not for a
        # scan of scan_limit rows (for which sorting a few thousand rows can look cheaper).
        scan_limit = limit
    within = filters.expiring_within
    until = None if within is None else datetime.now(UTC) + within
    rows = await conn.fetch(
        statement,
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
