"""The embedded PostgreSQL: a private server from the pgserver package, when no URL is set."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path


class EmbeddedPostgres:
    """A private PostgreSQL server from the pgserver package, under `<data_dir>/pg`.

    Several refbin processes pointing at one data folder share one server; pgserver stops it when
    the last of them exits.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None

    async def start(self) -> str:
        """Start (or join) the server and return a DSN for it."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.get_running_loop().run_in_executor(None, self._start_sync)
        return self._server.get_uri()  # type: ignore[attr-defined]

    def _start_sync(self) -> object:
        # pgserver asks platformdirs for a runtime folder, which warns when XDG_RUNTIME_DIR is
        # unset (as under root or in CI); the fallback it uses is fine.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # imported here: only the embedded mode needs it

            return pgserver.get_server(self.pgdata, cleanup_mode="stop")

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.get_running_loop().run_in_executor(None, server.cleanup)  # type: ignore[attr-defined]
