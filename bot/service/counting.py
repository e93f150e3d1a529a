"""Views and visits counted in memory and flushed in batches: no UPDATE of a hot row per request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime

from bot.db import Pool
from bot.db import visits as visits_sql

log = logging.getLogger(__name__)

DAY = 86400  # seconds in a UTC day (POSIX time has no leap seconds)


class VisitCounter:
    """Counts per item (views) and per item, day and referrer (visits), until flushed."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._views: Counter[str] = Counter()
        self._visits: Counter[tuple[str, date, str]] = Counter()
        self._lock = asyncio.Lock()
        self._flush_listeners: list[Callable[[int], None]] = []
        self._today = date.min
        self._tomorrow_at = 0.0  # time.time() at which _today must be read again

    def today(self) -> date:
        """The UTC date; the clock is turned into a date once a day, not on every visit."""
        now = self.clock()
        if now >= self._tomorrow_at:
            self._today = datetime.fromtimestamp(now, UTC).date()
            self._tomorrow_at = (now // DAY + 1) * DAY
        return self._today

    def on_flush(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call `listener(visits)` after every flush that wrote; returns what unsubscribes it."""
        self._flush_listeners.append(listener)
        return lambda: self._flush_listeners.remove(listener)

    def add(self, content_id: str, referrer: str, *, view_counted: bool) -> None:
        """Count a visit; `view_counted` says the view itself was already counted in the row."""
        if not view_counted:
            self._views[content_id] += 1
        self._visits[(content_id, self.today(), referrer[:255])] += 1

    @property
    def pending(self) -> int:
        return sum(self._visits.values())

    async def flush(self, pool: Pool) -> int:
        """Write what was counted with two statements; on failure the counts are kept."""
        async with self._lock:
            views, visits = self._views, self._visits
            if not views and not visits:
                return 0
            self._views, self._visits = Counter(), Counter()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    if views:
                        await visits_sql.add_views(conn, list(views), list(views.values()))
                    if visits:
                        keys = list(visits)
                        await visits_sql.add_visits(
                            conn,
                            [k[0] for k in keys],
                            [k[1] for k in keys],
                            [k[2] for k in keys],
                            list(visits.values()),
                        )
            except Exception:
                self._views.update(views)
                self._visits.update(visits)
                raise
            flushed = sum(visits.values())
            for listener in self._flush_listeners:
                listener(flushed)
            return flushed

    async def run(self, pool: Pool, interval: float) -> None:
        """Flush every `interval` seconds until cancelled; the owner flushes once more on stop."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(pool)
            except Exception as exc:  # the database is down (Unavailable), or busy: try again
                log.warning("visit flush failed, will retry: %s", exc)
