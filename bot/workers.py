"""What the worker-process pools (image work, paste highlighting) share: how a worker is bounded
and how a pool that may hold a stuck worker is done away with."""

from __future__ import annotations

import resource
import signal
from concurrent.futures import ProcessPoolExecutor


def limit_worker(memory_limit: int) -> None:
    """Runs in each worker as it starts: a ceiling on its address space, and Ctrl-C ignored (it
    reaches the whole process group; the server stops its workers itself)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def kill_pool(pool: ProcessPoolExecutor | None) -> None:
    """Kill a pool's workers, busy or not, and let it go without waiting for them."""
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
