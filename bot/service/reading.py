"""Reading items: one by id (for a visitor, counting the visit, or about to be shown its
content, spending a view), its metadata as a caller may see it, the stats, and the bytes behind
them. Who proved what is checked here: passwords (passwords.py, with the limit on guessing) and
the grants browsers carry (grants.py). (An owner's pages: listing.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.db import items, visits
from bot.errors import Blocked, Gone, Invalid, NotFound, PasswordRequired
from bot.models import KIND_ONE, Item, Kind, Stats, Visit
from bot.service.core import Core, store_outage
from bot.service.grants import SEEN, UNLOCK, Grants
from bot.service.ids import ID_PATTERN
from bot.service.links import check_link_allowed
from bot.service.passwords import GuessLimiter, verify_password
from bot.service.policy import needs_password, shown_to

USED_UP = "This item has been viewed as many times as it was allowed."


@dataclass(frozen=True)
class Opened:
    """An item about to be shown, and the SEEN grant for the view this spent (if it did)."""

    item: Item
    seen: str | None = None


class Reading:
    """Finds items and decides whether they may be shown; counts the visits."""

    def __init__(self, core: Core, grants: Grants) -> None:
        self.core = core
        self.grants = grants
        self.guesses = GuessLimiter()

    async def get(self, content_id: str, *, cached: bool = False, used_up: bool = False) -> Item:
        """The item, without counting a view; NotFound or Gone.

        `cached` serves it from the item cache (visitors): its view count may then be some
        seconds old, but never a delete, a block or its expiry (see bot/service/cache.py).
        `used_up` returns an item whose views are all spent, too (for the holder of a SEEN
        grant, who may still fetch what they were shown).
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
        if not used_up and _used_up(item):
            raise Gone(USED_UP)
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
        unlock: str | None = None,
        client: str = "",
    ) -> Item:
        """The item for a visitor: checks the password and counts the visit (when given one).
        `unlock`: a grant the caller holds from giving the password earlier (UNLOCK);
        `client`: who is asking, for the limit on guessing passwords.

        A view-limited item is counted at once and atomically, so it is served at most
        max_views times (the item returned counts that view); other visits are counted in
        memory and flushed in batches. Without a visit nothing is counted, and the caller
        shows nothing of a view-limited item's content (see `open`).
        """
        item = await self.get(content_id, cached=True)
        await self._check_access(item, password, unlock, client)
        if visit is None:
            return item
        return await self._count(item, visit)

    async def open(
        self,
        content_id: str,
        *,
        visit: Visit | None = None,
        password: str | None = None,
        unlock: str | None = None,
        seen: str | None = None,
        client: str = "",
        kind: Kind | None = None,
    ) -> Opened:
        """The item for a caller about to be shown its content (bytes, a page of them, a
        link's target). A view-limited item spends a view here whoever asks (a preview bot,
        an embed), unless `seen` is this caller's grant from spending one a moment ago; the
        view spent gives a new SEEN grant. Other items count `visit` when one is given.
        `kind`: NotFound for an item of another kind (an image's thumbnail), before anything
        is spent."""
        item = await self.get(content_id, cached=True, used_up=seen is not None)
        if kind is not None and item.kind != kind:
            raise NotFound(f"This item is not {KIND_ONE[kind]}.")
        await self._check_access(item, password, unlock, client)
        if item.max_views is None:
            return Opened(item if visit is None else await self._count(item, visit))
        if self.grants.holds(SEEN, item, seen):
            return Opened(item)
        if _used_up(item):
            raise Gone(USED_UP)
        item = await self._count(item, visit or Visit())
        return Opened(item, seen=self.grants.issue(SEEN, item))

    async def unlock(self, content_id: str, password: str | None, *, client: str = "") -> str:
        """An UNLOCK grant for the item once `password` opens it; PasswordRequired if not."""
        item = await self.get(content_id, cached=True)
        if item.has_password:
            await self.check_password(content_id, password, client=client)
        return self.grants.issue(UNLOCK, item)

    async def describe(
        self,
        content_id: str,
        *,
        owner_id: int | None = None,
        password: str | None = None,
        client: str = "",
    ) -> Item:
        """What this caller may see of an item's metadata, spending no view (policy.shown_to);
        a protected item needs its password unless its owner asks."""
        item = await self.get(content_id)
        if needs_password(item, owner_id):
            await self.check_password(content_id, password, client=client)
        return shown_to(item, owner_id)

    async def check_password(
        self, content_id: str, password: str | None, *, client: str = ""
    ) -> None:
        """PasswordRequired unless `password` opens the item; RateLimited while `client` (or
        everyone) has guessed wrong too often (bot/service/passwords.py)."""
        if not password:
            raise PasswordRequired()
        attempt = self.guesses.begin(content_id, client)
        # From the primary: an item a replica has not seen yet must still open.
        stored = await items.fetch_password_hash(self.core.db.pool, content_id)
        if stored is None or not await verify_password(password, stored):
            raise PasswordRequired("The password is wrong.")
        self.guesses.succeeded(content_id, client, attempt)

    async def _check_access(
        self, item: Item, password: str | None, unlock: str | None, client: str
    ) -> None:
        if item.has_password and not self.grants.holds(UNLOCK, item, unlock):
            await self.check_password(item.content_id, password, client=client)

    async def _count(self, item: Item, visit: Visit) -> Item:
        """Count a visit; a view-limited item's view is taken now, on the primary."""
        if item.max_views is None:
            self.core.counter.add(item.content_id, visit.referrer, view_counted=False)
            return item
        views = await visits.take_view(self.core.db.pool, item.content_id)
        if views is None:
            raise Gone(USED_UP)
        self.core.counter.add(item.content_id, visit.referrer, view_counted=True)
        return replace(item, views=views)

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


def _used_up(item: Item) -> bool:
    return item.max_views is not None and item.views >= item.max_views


async def _outage_checked(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The store's chunks, with a store that cannot serve raised as Unavailable."""
    async with aclosing(chunks):
        with store_outage():
            async for chunk in chunks:
                yield chunk
