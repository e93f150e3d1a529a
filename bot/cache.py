"""A bounded, read-through cache of items by id, kept coherent across processes.

Every process keeps its own cache; nothing in it is needed by another process. An entry lives
at most `ttl` seconds and never past the item's own expiry. What a cached item may not do:

- Outlive a delete, block or other change: whoever changes a refs row sends
  `queries.notify_invalidate` in the same transaction, and every process LISTENing on
  `CHANNEL` drops the entry when the change commits. While the listener is not connected,
  entries live only `SHORT_TTL` seconds, so a change is honoured everywhere within that.
- Decide a view limit: items with `max_views` are never cached, so each view of one is taken
  by the atomic UPDATE on the primary.

Misses that arrive in the same turn of the event loop are fetched with one query (and a miss
already being fetched is not fetched twice), which is what keeps a spread of cold ids cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from bot.models import Item

log = logging.getLogger(__name__)

CHANNEL = "refbin_invalidate"
MAX_ENTRIES = 50_000
SHORT_TTL = 2.0  # seconds an entry lives while no invalidation listener is connected
LISTENING_TTL = 30.0  # with a listener: only a notification lost with its connection needs this
MAX_BATCH = 256
RECONNECT_DELAY = 1.0

Loader = Callable[[Sequence[str]], Awaitable[Sequence[Item]]]


class ItemCache:
    """content_id -> Item, least recently used evicted past `max_entries`."""

    def __init__(
        self,
        loader: Loader,
        *,
        max_entries: int = MAX_ENTRIES,
        short_ttl: float = SHORT_TTL,
        listening_ttl: float = LISTENING_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self.max_entries = max_entries
        self.short_ttl = short_ttl
        self.listening_ttl = listening_ttl
        self.clock = clock
        self.listening = False
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, tuple[Item, float]] = OrderedDict()
        # The callers waiting for each id: to be fetched in the next batch, or being fetched.
        self._wanted: dict[str, list[asyncio.Future[Item | None]]] = {}
        self._in_flight: dict[str, list[asyncio.Future[Item | None]]] = {}
        self._batch_scheduled = False
        # Bumped by every invalidation: a load that started before one is not stored.
        self._epoch = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def ttl(self) -> float:
        return self.listening_ttl if self.listening else self.short_ttl

    async def get(self, content_id: str) -> Item | None:
        """The item (cached, or loaded now), or None when there is no such item."""
        entry = self._entries.get(content_id)
        if entry is not None:
            if entry[1] > self.clock():
                self._entries.move_to_end(content_id)
                self.hits += 1
                return entry[0]
            del self._entries[content_id]
        self.misses += 1
        loop = asyncio.get_running_loop()
        waiters = self._in_flight.get(content_id)
        if waiters is None:
            waiters = self._wanted.get(content_id)
            if waiters is None:
                waiters = self._wanted[content_id] = []
                if not self._batch_scheduled:
                    self._batch_scheduled = True
                    loop.call_soon(self._start_batch)
        # A future per caller: one giving up (cancelled) leaves the others' waits alone.
        future: asyncio.Future[Item | None] = loop.create_future()
        waiters.append(future)
        return await future

    def invalidate(self, content_id: str) -> None:
        """Forget one item (it changed or went away)."""
        self._epoch += 1
        self._entries.pop(content_id, None)

    def clear(self) -> None:
        """Forget everything (the invalidation listener lost its connection)."""
        self._epoch += 1
        self._entries.clear()

    def _start_batch(self) -> None:
        self._batch_scheduled = False
        while self._wanted:
            ids = list(self._wanted)[:MAX_BATCH]
            waiters = {content_id: self._wanted.pop(content_id) for content_id in ids}
            self._in_flight.update(waiters)
            task = asyncio.get_running_loop().create_task(self._load(waiters, self._epoch))
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def _load(
        self, waiters: dict[str, list[asyncio.Future[Item | None]]], epoch: int
    ) -> None:
        try:
            items = await self._loader(list(waiters))
        except BaseException as exc:
            for content_id, futures in waiters.items():
                self._in_flight.pop(content_id, None)
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        found = {item.content_id: item for item in items}
        store = epoch == self._epoch
        for content_id, futures in waiters.items():
            self._in_flight.pop(content_id, None)
            item = found.get(content_id)
            if store and item is not None:
                self._store(item)
            for future in futures:
                if not future.done():
                    future.set_result(item)

    def _store(self, item: Item) -> None:
        if item.max_views is not None:
            return
        lifetime = self.ttl
        if item.expires_at is not None:
            lifetime = min(lifetime, (item.expires_at - datetime.now(UTC)).total_seconds())
            if lifetime <= 0:
                return
        self._entries[item.content_id] = (item, self.clock() + lifetime)
        self._entries.move_to_end(item.content_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


# Load tasks, kept referenced until they finish (the event loop holds tasks only weakly).
_background: set[asyncio.Task[None]] = set()


@contextlib.asynccontextmanager
async def invalidation_listener(cache: ItemCache, dsn: str) -> AsyncIterator[None]:
    """LISTEN for invalidations on a connection of its own while the block runs.

    The block starts once the listener is connected (or has failed to connect: then it goes on
    trying, and entries live SHORT_TTL seconds meanwhile).
    """
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_listen_forever(cache, dsn, ready), name="cache-invalidation")
    await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        cache.listening = False


async def _listen_forever(cache: ItemCache, dsn: str, ready: asyncio.Future[None]) -> None:
    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        cache.invalidate(payload)

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
            lost = _termination_of(conn)
            await conn.add_listener(CHANNEL, on_notify)
            cache.listening = True
            if not ready.done():
                ready.set_result(None)
            await lost
            log.warning("cache invalidation listener lost its connection; reconnecting")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cache invalidation listener cannot connect: %s", exc)
            if not ready.done():
                ready.set_result(None)
        finally:
            # Anything cached now may have missed a notification: start again, short-lived.
            if cache.listening:
                cache.listening = False
                cache.clear()
            if conn is not None and not conn.is_closed():
                await asyncio.shield(conn.close(timeout=2))
        await asyncio.sleep(RECONNECT_DELAY)


def _termination_of(conn: asyncpg.Connection) -> asyncio.Future[None]:
    """A future that is done when the connection closes."""
    lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def closed(_conn: object) -> None:
        if not lost.done():
            lost.set_result(None)

    conn.add_termination_listener(closed)
    return lost
