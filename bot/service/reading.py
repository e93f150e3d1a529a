"""Reading items: one by id (for a visitor, counting the visit), the stats, and the bytes behind
them. (An owner's pages: listing.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime

from bot.db import items, visits
from bot.errors import Blocked, Gone, Invalid, NotFound, PasswordRequired
from bot.models import Item, Stats, Visit
from bot.service.core import Core, store_outage
from bot.service.ids import ID_PATTERN
from bot.service.links import check_link_allowed
from bot.service.tokens import verify_password


class Reading:
    """Finds items and decides whether they may be shown; counts the visits."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def get(self, content_id: str, *, cached: bool = False) -> Item:
        """The item, without counting a view; NotFound or Gone.

        `cached` serves it from the item cache (visitors): its view count may then be some
        seconds old, but never a delete, a block or its expiry (see bot/service/cache.py).
        """
        if not ID_PATTERN.match(content_id):
            raise NotFound()
        db = self.core.db
        if cached:
            item = await self.core.cache.get(content_id)
        else:
            item = await items.fetch_item(db.read_pool, content_id)
        if db.read_pool is not db.pool and (item is None or item.max_views is not None):
            # A replica lags: a view-limited item is decided on the primary, and an id the
            # replica does not know yet may have been added a moment ago.
            item = await items.fetch_item(db.pool, content_id)
        if item is None:
            raise NotFound()
        if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
            raise Gone()
        if item.max_views is not None and item.views >= item.max_views:
            raise Gone("This item has been viewed as many times as it was allowed.")
        if item.blocked_reason is not None:
            raise Blocked(f"This item is blocked on this instance: {item.blocked_reason}")
        blocked_domains = self.core.settings.limits.blocked_domains
        if item.target is not None and blocked_domains:
            check_link_allowed(item.target, (), blocked_domains)
        return item

    async def resolve(
        self,
        content_id: str,
        *,
        visit: Visit | None = None,
        password: str | None = None,
        unlocked: bool = False,
    ) -> Item:
        """The item for a visitor: checks the password and counts the visit (when given one).
        `unlocked`: the caller proved the password earlier (a signed unlock cookie).

        A view-limited item is counted at once and atomically, so it is served at most
        max_views times; other visits are counted in memory and flushed in batches.
        """
        item = await self.get(content_id, cached=True)
        if item.has_password and not unlocked:
            await self.check_password(content_id, password)
        if visit is not None:
            limited = item.max_views is not None
            if limited and not await visits.take_view(self.core.db.pool, content_id):
                raise Gone("This item has been viewed as many times as it was allowed.")
            self.core.counter.add(content_id, visit.referrer, view_counted=limited)
        return item

    async def check_password(self, content_id: str, password: str | None) -> None:
        """PasswordRequired unless `password` opens the item."""
        if not password:
            raise PasswordRequired()
        # From the primary: an item a replica has not seen yet must still open.
        stored = await items.fetch_password_hash(self.core.db.pool, content_id)
        loop = asyncio.get_running_loop()
        if stored is None or not await loop.run_in_executor(
            None, verify_password, password, stored
        ):
            raise PasswordRequired("The password is wrong.")

    def open_blob(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes of a blob, [start, end); FileNotFoundError when the store lacks it."""
        return _outage_checked(self.core.store.open(sha256, start, end))

    async def read_text(self, item: Item) -> str:
        """The whole text of a paste (bounded by the paste limit)."""
        if item.kind != "text" or item.sha256 is None:
            raise Invalid("Not a paste.")
        parts = [chunk async for chunk in self.open_blob(item.sha256)]
        return b"".join(parts).decode("utf-8", "replace")

    async def stats(self, content_id: str, *, owner_id: int | None, days: int = 30) -> Stats:
        """Visits per day and top referrers, for the item's owner only (NotFound otherwise)."""
        read_pool = self.core.db.read_pool
        item = None
        if ID_PATTERN.match(content_id):
            item = await items.fetch_item(read_pool, content_id)
        if item is None or owner_id is None or item.owner_id != owner_id:
            raise NotFound("No such item, or it is not yours.")
        days = max(1, min(days, 366))
        per_day = await visits.visits_per_day(read_pool, content_id, days)
        referrers = await visits.top_referrers(read_pool, content_id, days, 10)
        return Stats(
            content_id=content_id,
            views=item.views,
            per_day=tuple((row["day"], row["count"]) for row in per_day),
            referrers=tuple((row["referrer"], row["count"]) for row in referrers),
        )


async def _outage_checked(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The store's chunks, with a store that cannot serve raised as Unavailable."""
    async with aclosing(chunks):
        with store_outage():
            async for chunk in chunks:
                yield chunk
