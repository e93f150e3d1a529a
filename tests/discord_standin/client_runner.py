"""Running a real discord.py client against the stand-in, and stopping it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import discord

from .gateway import GatewayServer

T = TypeVar("T")
ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def run_client(
    client: ClientT, *, token: str, gateway: GatewayServer, wait_ready: bool, limit: float
) -> AsyncIterator[ClientT]:
    """`client.start(token)` in a task; entered once it has handled READY and GUILD_CREATE.

    If the client fails first (bad token, disallowed intents) its error is raised at once. On
    the way out the client is closed and its task awaited; an error it ended with is raised.
    """
    start = len(gateway.ready)
    task = asyncio.create_task(client.start(token), name="discord-standin-client")
    try:
        identified = gateway.ready.wait_for(
            lambda _: True, what="the client to IDENTIFY", start=start
        )
        await _unless_failed(task, identified)
        await _unless_failed(task, gateway.sync())
        if wait_ready:
            await _unless_failed(task, asyncio.wait_for(client.wait_until_ready(), limit))
        yield client
    finally:
        await client.close()
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            task.cancel()
    error = task.exception() if task.done() and not task.cancelled() else None
    if error is not None:
        raise error


async def _unless_failed(task: asyncio.Task[Any], awaitable: Awaitable[T]) -> T:
    """Await `awaitable`, but raise the client's error at once if its task ends first."""
    waiter = asyncio.ensure_future(awaitable)
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if waiter.done():
        return waiter.result()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    task.result()
    raise RuntimeError("the client stopped before the stand-in saw it connect")
