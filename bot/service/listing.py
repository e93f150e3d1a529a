"""Listing items: an owner's (or, for operators, everyone's), filtered, a page at a time.

Keyset pagination: a cursor is the position of the last row a page looked at, so items added or
deleted between pages never make one skip or repeat another. Each page looks at no more than
SCAN_LIMIT items (see bot/db/listing.py): a filter that no index serves (the text filter, say)
costs the same on an owner of ten items as on one of a million, and its page may then be short,
or empty, with a cursor to go on from.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.db import listing
from bot.db import search as db_search
from bot.errors import Forbidden, Invalid
from bot.models import KINDS, VISIBILITIES, ListFilter, Page
from bot.service import search
from bot.service.core import Core
from bot.service.ids import ID_PATTERN

# Rows one page may look at. A page of the text filter that matches nothing costs PostgreSQL
# about 3 ms per 1,000 rows looked at (an owner of 100,000 links, tests/db/test_listing_plans.py's
# data, on a busy 2-core machine); the filters with an index of their own look at their page.
SCAN_LIMIT = 2000
MAX_PAGE = 100
MAX_TEXT = 100  # characters of the text filter
MAX_EXPIRING = timedelta(days=3660)
# Characters of a paste's first line kept for listings, stored when it is added (texts, 007):
# a page of 20 pastes took 0.7 ms (p50) so, against 3.5 ms reading the first 4 KiB of each from
# the local store (p99 1 to 3 ms against 13 to 20), and a store on S3 would make that 20 GETs.
FIRST_LINE = 200
_EXPIRY_CURSOR = "x"  # marks the cursors of the soonest-first listing
NO_FILTER = ListFilter()


class Listing:
    """Pages of items for their owner's dashboard, the API, /mine and the operators' view."""

    def __init__(self, core: Core, scan_limit: int = SCAN_LIMIT) -> None:
        self.core = core
        self.scan_limit = scan_limit  # rows a page may look at

    async def list_owned(
        self,
        owner_id: int | None,
        filters: ListFilter = NO_FILTER,
        *,
        cursor: str | None = None,
        limit: int = 20,
        admin: bool = False,
    ) -> Page:
        """One page of `owner_id`'s items that pass `filters`, newest first (soonest expiry
        first when filtering by expiry). `owner_id` None: every owner's, for operators only."""
        if owner_id is None and not admin:
            raise Forbidden("Only the operators list every item.")
        filters = check_filter(filters)
        limit = max(1, min(limit, MAX_PAGE))
        if filters.text is not None:
            return await self.search(owner_id, filters, cursor=cursor, limit=limit)
        by_expiry = filters.expiring_within is not None
        after = decode_cursor(cursor, by_expiry=by_expiry) if cursor else None
        read_pool = self.core.db.read_pool
        # A page whose rows all pass looks at no more rows than it holds (and one to see on).
        scan_limit = max(self.scan_limit, limit + 1)
        rows = await listing.scan_page(
            read_pool, owner_id, filters, after, limit=limit + 1, scan_limit=scan_limit
        )
        hits = [row for row in rows if row.hit]
        if len(hits) > limit:
            hits = hits[:limit]
            edge = hits[-1]
        else:  # the listing's end, or the last row looked at
            edge = next((row for row in rows if row.last), None)
        next_cursor = None
        if edge is not None:
            key = edge.expires_at if by_expiry else edge.created_at
            assert key is not None
            next_cursor = encode_cursor(key, edge.content_id, by_expiry=by_expiry)
        found = {
            item.content_id: item
            for item in await listing.fetch_listed(read_pool, [row.content_id for row in hits])
        }
        # An item deleted between the two statements is left out; the cursor stands.
        items = tuple(found[row.content_id] for row in hits if row.content_id in found)
        return Page(items=items, next_cursor=next_cursor)

    async def search(
        self, owner_id: int | None, filters: ListFilter, *, cursor: str | None, limit: int
    ) -> Page:
        """A page of the items matching the search in `filters.text` (see search.py) and the
        other filters, best match first, then newest."""
        assert filters.text is not None
        query = search.parse_query(filters.text)
        offset = search.decode_offset(cursor)
        read_pool = self.core.db.read_pool
        criteria = search.criteria_for(owner_id, filters, query)
        hits = await db_search.search(
            read_pool, criteria, query.terms, offset=offset, limit=limit + 1
        )
        more = len(hits) > limit and offset + limit < search.MAX_OFFSET
        hits = hits[:limit]
        found = {
            item.content_id: item
            for item in await listing.fetch_listed(read_pool, [hit.content_id for hit in hits])
        }
        items = tuple(
            dataclasses.replace(found[hit.content_id], matches=hit.matches)
            for hit in hits
            if hit.content_id in found
        )
        next_cursor = search.encode_offset(offset + limit) if more else None
        return Page(items=items, next_cursor=next_cursor)


def check_filter(filters: ListFilter) -> ListFilter:
    """The filters, the text one trimmed (empty: none); Invalid naming a bad one."""
    if filters.kind is not None and filters.kind not in KINDS:
        raise Invalid(f"Kind is one of {', '.join(KINDS)}.")
    if filters.visibility is not None and filters.visibility not in VISIBILITIES:
        raise Invalid(f"Visibility is one of {', '.join(VISIBILITIES)}.")
    within = filters.expiring_within
    if within is not None and not timedelta(0) < within <= MAX_EXPIRING:
        raise Invalid("Expiring is a number of days from 1 to 3660.")
    text = (filters.text or "").strip() or None
    if text is not None:
        if len(text) > MAX_TEXT:
            raise Invalid(f"The text filter is at most {MAX_TEXT} characters.")
        if "\x00" in text or not _encodable(text):
            raise Invalid("The text filter is not valid text.")
    if text != filters.text:
        filters = ListFilter(
            kind=filters.kind,
            visibility=filters.visibility,
            expiring_within=filters.expiring_within,
            has_password=filters.has_password,
            view_limited=filters.view_limited,
            text=text,
        )
    return filters


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def first_line(text: str) -> str | None:
    """What a listing shows of a paste: its first line with anything on it, trimmed, at most
    FIRST_LINE characters (None for a paste of blank lines)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            # A paste may hold a lone surrogate (it is stored as its bytes); the database not.
            return line[:FIRST_LINE].encode("utf-8", "replace").decode("utf-8")
    return None


def encode_cursor(key: datetime, content_id: str, *, by_expiry: bool = False) -> str:
    """The position after an item in a listing (its time and id), as an opaque page cursor."""
    prefix = _EXPIRY_CURSOR if by_expiry else ""
    return f"{prefix}{key.timestamp():.6f}.{content_id}"


def decode_cursor(cursor: str, *, by_expiry: bool = False) -> tuple[datetime, str]:
    """The (time, content_id) of a page cursor; Invalid when it is not one of this listing's."""
    invalid = Invalid("The page cursor is not valid.")
    if cursor.startswith(_EXPIRY_CURSOR) != by_expiry:
        raise invalid
    try:
        seconds, _, micros_and_id = cursor.removeprefix(_EXPIRY_CURSOR).partition(".")
        micros, _, content_id = micros_and_id.partition(".")
        stamp = datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError, OSError):
        raise invalid from None
    if not ID_PATTERN.match(content_id):
        raise invalid
    return stamp, content_id
