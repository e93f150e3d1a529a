"""Rate limits: a sliding window per (bucket, client), kept in each process's memory.

Buckets are `create`, `read` and `delete`; a client is an IP address or an owner. Limits apply
per process: with N web processes behind a balancer a client may make up to N times the
configured rate, which is documented and usually what operators want (the balancer spreads
a client's requests anyway).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from bot.errors import RateLimited

WINDOW = 60.0
MAX_CLIENTS = 100_000  # the oldest clients are forgotten past this, so memory stays bounded


class RateLimiter:
    """At most `per_minute[bucket]` events per client in any 60 s window; 0 means no limit."""

    def __init__(
        self, per_minute: dict[str, int], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._events: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def check(self, bucket: str, client: str) -> None:
        """Count one event, or raise RateLimited with the seconds until the next is allowed."""
        limit = self.per_minute.get(bucket, 0)
        if limit <= 0:
            return
        now = self.clock()
        key = (bucket, client)
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            if len(self._events) > MAX_CLIENTS:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - WINDOW:
            events.popleft()
        if len(events) >= limit:
            raise RateLimited(retry_after=events[0] + WINDOW - now)
        events.append(now)
