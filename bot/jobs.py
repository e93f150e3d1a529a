"""Background jobs every process may run: the visit flush and the sweep.

Each job's work is done once even when several processes run it: the flush writes only this
process's counts, and the sweep takes rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from bot.runtime import Runtime

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 2.0
SWEEP_INTERVAL = 300.0


class Jobs:
    """Owns the background tasks: starts them, logs their failures, stops them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, runtime: Runtime) -> AsyncIterator[Jobs]:
        """The standard jobs of a process, stopped on exit."""
        jobs = cls()
        jobs.start("visit-flush", runtime.service.counter.run(runtime.db.pool, FLUSH_INTERVAL))
        jobs.start("sweep", sweep_forever(runtime, SWEEP_INTERVAL))
        try:
            yield jobs
        finally:
            await jobs.stop()


async def sweep_forever(runtime: Runtime, interval: float) -> None:
    while True:
        try:
            report = await runtime.service.sweep()
            if report.expired or report.blobs_removed or report.temp_files_removed:
                log.info("sweep: %s", report)
        except Exception:
            log.exception("sweep failed; will try again")
        await asyncio.sleep(interval)
