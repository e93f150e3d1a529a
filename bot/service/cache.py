"""A bounded, read-through cache of items by id, kept coherent across processes.

Every process keeps its own cache; nothing in it is needed by another process. An entry lives
at most `ttl` seconds and never past the item's own expiry. What a cached item may not do:

- Outlive a delete, block or other change: whoever changes a refs row sends
  `notify_invalidate` (bot/db/invalidation.py) in the same transaction, and every process
  listening on its channel drops the entry when the change commits. While the listener is not
  connected, entries live only `SHORT_TTL` seconds, so a change is honoured everywhere within
  that.
- Decide a view limit: items with `max_views` are never cached, so each view of one is taken
  by the atomic UPDATE on the primary.

Misses that arrive in the same turn of the event loop are fetched with one query (and a miss
already being fetched is not fetched twice), which is what keeps a spread of cold ids cheap. At
most `MAX_LOADS` such queries are in flight; misses that arrive meanwhile wait and go together
in the next one. A query costs far more than a row (on the bench machine about 0.35 ms of
client and PostgreSQL CPU against 0.02 ms per id), so under load fewer, larger batches are
cheaper: with no bound, 64 busy connections kept up to 63 queries of 15 ids on average in
flight, queueing for a pool of 10 anyway; with 2, batches average about 20 ids.

Memory (tracemalloc, Python 3.11, everything an entry keeps alive: the Item, its strings and
datetime, the (item, deadline) pair and the OrderedDict's share): 540 bytes per link, 51.5 MiB
per 100,000; about 815 bytes per image (two sha256 strings and a filename), 78 MiB per
100,000, and less for a paste or a file (one sha256). `MAX_ENTRIES` = 150,000 is therefore at
most about 80 MiB of links (120 MiB of images), and holds a spread of 100,000 hot ids with room
to spare. It was 50,000 when an entry was about 730 bytes (1,060 for an image): the Item had a
__dict__, every entry its own float, and every row its own copy of 'url' and 'public'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from itertools import islice

from bot.db.invalidation import listen_for_invalidations
from bot.models import Item

log = logging.getLogger(__name__)

MAX_ENTRIES = 150_000  # about 80 MiB of links; see the module's docstring
SHORT_TTL = 2.0  # seconds an entry lives while no invalidation listener is connected
LISTENING_TTL = 30.0  # with a listener: only a notification lost with its connection needs this
MAX_BATCH = 256
MAX_LOADS = 2  # loads in flight at once; the misses that arrive meanwhile wait for the next batch

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
        max_loads: int = MAX_LOADS,
    ) -> None:
        if max_loads < 1:
            raise ValueError("max_loads must be at least 1")
        self._loader = loader
        self.max_entries = max_entries
        self.max_loads = max_loads
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
        self._loads = 0  # loads in flight
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
        while self._wanted and self._loads < self.max_loads:
            waiters: dict[str, list[asyncio.Future[Item | None]]] = {}
            for content_id in list(islice(self._wanted, MAX_BATCH)):
                futures = self._wanted.pop(content_id)
                # An id whose every caller gave up while it waited for a free load is dropped.
                if not all(future.done() for future in futures):
                    waiters[content_id] = futures
            if not waiters:
                continue
            self._in_flight.update(waiters)
            self._loads += 1
            task = asyncio.get_running_loop().create_task(self._load(waiters, self._epoch))
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def _load(
        self, waiters: dict[str, list[asyncio.Future[Item | None]]], epoch: int
    ) -> None:
        try:
            items = await self._loader(list(waiters))
        except BaseException as exc:
            self._loaded()
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
        self._loaded()
        found = {item.content_id: item for item in items}
        if epoch == self._epoch:
            self._store_all(items)
        for content_id, futures in waiters.items():
            self._in_flight.pop(content_id, None)
            item = found.get(content_id)
            for future in futures:
                if not future.done():
                    future.set_result(item)

    def _loaded(self) -> None:
        """A load finished: the misses that waited for it go in the next batch."""
        self._loads -= 1
        if self._wanted and not self._batch_scheduled:
            self._batch_scheduled = True
            asyncio.get_running_loop().call_soon(self._start_batch)

    def _store_all(self, items: Iterable[Item]) -> None:
        ttl, start, now = self.ttl, self.clock(), time.time()
        # One deadline object shared by the batch: a float per entry would be 24 bytes more.
        deadline = start + ttl
        entries = self._entries
        for item in items:
            if item.max_views is not None:
                continue  # each view of it is taken on the primary, never decided here
            until = deadline
            if item.expires_at is not None:
                lifetime = item.expires_at.timestamp() - now
                if lifetime <= 0:
                    continue
                if lifetime < ttl:
                    until = start + lifetime
            entries[item.content_id] = (item, until)
            entries.move_to_end(item.content_id)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)


# Load tasks, kept referenced until they finish (the event loop holds tasks only weakly).
_background: set[asyncio.Task[None]] = set()


@contextlib.asynccontextmanager
async def invalidation_listener(cache: ItemCache, dsn: str) -> AsyncIterator[None]:
    """Listen for invalidations on a connection of its own while the block runs.

    The block starts once the listener is connected (or has failed to connect: then it goes on
    trying, and entries live SHORT_TTL seconds meanwhile).
    """
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_listening(listening: bool) -> None:
        if not listening and cache.listening:
            # Anything cached now may have missed a notification: start again, short-lived.
            cache.clear()
        cache.listening = listening
        if not ready.done():
            ready.set_result(None)

    def on_invalidate(content_id: str) -> None:
        cache.invalidate(content_id)

    task = asyncio.create_task(
        listen_for_invalidations(dsn, on_invalidate, on_listening), name="cache-invalidation"
    )
    await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        cache.listening = False
