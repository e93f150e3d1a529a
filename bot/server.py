"""`refbin serve`: the web server, the background jobs and (with a token) the Discord bot,
in one event loop, stopped gracefully on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.config import Settings
from bot.jobs import Jobs
from bot.runtime import Runtime, open_runtime
from bot.service import ContentService
from bot.web import create_app
from bot.web.protocol import HeadDeadlineRunner

log = logging.getLogger(__name__)


async def run(
    settings: Settings,
    *,
    with_web: bool = True,
    with_bot: bool = True,
    sync_commands: bool = False,
) -> None:
    """Run until a signal asks to stop, then close everything in order. `sync_commands`: the
    bot syncs its app commands globally first (`refbin bot --sync`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with open_runtime(settings) as runtime, Jobs.started(runtime):
        runner = await start_web(runtime.service) if with_web else None
        try:
            if with_bot and settings.discord.token:
                await run_bot_until(runtime, stop, sync_globally=sync_commands)
            else:
                await stop.wait()
        finally:
            log.info("stopping")
            if runner is not None:
                await runner.cleanup()


async def start_web(service: ContentService) -> web.AppRunner:
    """Start the aiohttp server on the configured host and port; print where it listens."""
    settings = service.settings
    runner = HeadDeadlineRunner(
        create_app(service),
        head_timeout=settings.server.header_timeout,
        access_log=None,
        shutdown_timeout=10,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    print(f"refbin is serving on {settings.server.base_url}", flush=True)
    return runner


async def run_bot_until(
    runtime: Runtime, stop: asyncio.Event, *, sync_globally: bool = False
) -> None:
    """Run the Discord bot beside the web server until `stop` is set (or the bot fails)."""
    from bot.discord.app import run_bot  # imported here: web-only processes never need it

    bot_task = asyncio.create_task(
        run_bot(runtime.service, runtime.settings, sync_globally=sync_globally)
    )
    stop_task = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in (bot_task, stop_task):
        if task not in done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if bot_task in done:
        bot_task.result()
