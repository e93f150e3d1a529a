"""A diagnostic target: refbin's own application, handlers, service and cache, with its
middleware stack removed, to show what the middlewares cost per request.

    python -m bench.core_server   (configured by the same REFBIN_* variables as `refbin web`)
"""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web

from bot.config import load_settings
from bot.jobs import Jobs
from bot.runtime import open_runtime
from bot.web import create_app


async def serve() -> None:
    settings = load_settings(None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with open_runtime(settings) as runtime, Jobs.started(runtime):
        app = create_app(runtime)
        app.middlewares.clear()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.server.host, settings.server.port).start()
        print(f"refbin core is serving on {settings.server.base_url}", flush=True)
        await stop.wait()
        await runner.cleanup()


def main() -> None:
    if os.environ.get("BENCH_LOOP") != "asyncio":  # asyncio's own loop, to compare
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
    asyncio.run(serve())


if __name__ == "__main__":
    main()
