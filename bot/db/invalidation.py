"""Cache invalidation across processes: NOTIFY when an item changes, LISTEN to hear of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from bot.db.pool import Queryable

log = logging.getLogger(__name__)

CHANNEL = "refbin_invalidate"
RECONNECT_DELAY = 1.0


async def notify_invalidate(conn: Queryable, content_id: str) -> None:
    """Tell every process's item cache that an item changed (sent when the transaction commits)."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, content_id)


async def listen_for_invalidations(
    dsn: str, on_invalidate: Callable[[str], None], on_listening: Callable[[bool], None]
) -> None:
    """LISTEN on CHANNEL on a connection of its own until cancelled, reconnecting when it is lost.

    `on_invalidate(content_id)` runs for each notification; `on_listening(True)` once listening,
    `on_listening(False)` when the connection is lost or cannot be made.
    """

    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        on_invalidate(payload)

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
            lost = _termination_of(conn)
            await conn.add_listener(CHANNEL, on_notify)
            on_listening(True)
            await lost
            log.warning("cache invalidation listener lost its connection; reconnecting")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cache invalidation listener cannot connect: %s", exc)
        finally:
            on_listening(False)
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
