"""Item passwords: the slow hash on a small thread pool of its own, and a limit on guessing.

scrypt costs tens of milliseconds of CPU and 16 MiB a call. On the event loop's default thread
pool, which file serving shares (opening files, sendfile's fallbacks, aiofiles), 64 guessing
connections queued every download behind them: a 200 KB download took 2.4 s instead of 2 ms.
Here it runs on `HASH_WORKERS` threads of its own, so guessing can only wait for itself.

Guessing is limited whatever `limits.rate_read` says (it is off by default): at most
`PER_CLIENT` wrong passwords a minute per client and item, and `PER_ITEM` a minute per item
from everyone together. An attempt is counted when it starts (so a burst of concurrent guesses
cannot all slip in before the first is judged) and forgotten when its password proves right.
The counts live in each process's memory, like the rate limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.errors import RateLimited
from bot.service import tokens

HASH_WORKERS = 2
PER_CLIENT = 5  # wrong passwords a minute, per client and item
PER_ITEM = 30  # wrong passwords a minute, per item, from all clients together
WINDOW = 60.0
MAX_KEYS = 100_000  # the oldest (client, item) pairs are forgotten past this

# One per process, like the event loop's own pool; its threads start on first use.
HASH_EXECUTOR = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="refbin-password")


async def hash_password(password: str) -> str:
    """tokens.hash_password, on the password pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(HASH_EXECUTOR, tokens.hash_password, password)


async def verify_password(password: str, stored: str) -> bool:
    """tokens.verify_password, on the password pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(HASH_EXECUTOR, tokens.verify_password, password, stored)


class GuessLimiter:
    """Sliding windows of password attempts per (item, client) and per item."""

    def __init__(
        self,
        per_client: int = PER_CLIENT,
        per_item: int = PER_ITEM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.per_item = per_item
        self.clock = clock
        # (item, client) and (item, None) for everyone together.
        self._attempts: OrderedDict[tuple[str, str | None], deque[float]] = OrderedDict()

    def begin(self, content_id: str, client: str) -> float:
        """Count an attempt, or raise RateLimited while the client or the item is over its
        allowance; returns the attempt's stamp, for `succeeded`."""
        now = self.clock()
        mine = self._window((content_id, client), now)
        everyone = self._window((content_id, None), now)
        waits = [
            events[0] + WINDOW - now
            for events, limit in ((mine, self.per_client), (everyone, self.per_item))
            if len(events) >= limit
        ]
        if waits:
            raise RateLimited(retry_after=max(waits))
        mine.append(now)
        everyone.append(now)
        return now

    def succeeded(self, content_id: str, client: str, stamp: float) -> None:
        """The attempt begun at `stamp` gave the right password: it was no guess."""
        for key in ((content_id, client), (content_id, None)):
            events = self._attempts.get(key)
            if events is not None and stamp in events:
                events.remove(stamp)

    def _window(self, key: tuple[str, str | None], now: float) -> deque[float]:
        events = self._attempts.get(key)
        if events is None:
            events = self._attempts[key] = deque()
            while len(self._attempts) > MAX_KEYS:
                self._attempts.popitem(last=False)
        else:
            self._attempts.move_to_end(key)
        while events and events[0] <= now - WINDOW:
            events.popleft()
        return events
