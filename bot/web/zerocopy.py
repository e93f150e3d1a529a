"""sendfile(2) from a file straight into a connection's socket, on any event loop.

asyncio's own loop has `loop.sendfile`; uvloop does not (it raises NotImplementedError), and it
refuses `add_writer` on a descriptor one of its transports owns. So this works on a duplicate
of the transport's descriptor: the copy is ours to poll (`add_writer` sees a descriptor no
transport owns) and to close, and it keeps the socket itself alive while we write, so a
connection closed under us can never hand its descriptor number to another connection that we
would then write into. Both descriptors share one open socket (and its O_NONBLOCK flag).

The HTTP stream stays whole because nothing else writes while this runs: the caller has written
the headers, `send_file` waits until the transport's own buffer is empty before the first byte
of the body, and aiohttp writes nothing for the connection until the handler is done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import IO

log = logging.getLogger(__name__)

# Linux sends at most 0x7ffff000 bytes per sendfile call.
MAX_PER_CALL = 0x7FFFF000
# How often a transfer waiting on a full socket looks whether its connection has gone.
IDLE_CHECK_SECONDS = 1.0


class Unsupported(Exception):
    """This connection cannot take sendfile(2): the caller copies the bytes instead."""


class ShortFile(OSError):
    """The file ended before the bytes the response promised."""


def socket_fd(transport: asyncio.Transport) -> int:
    """The descriptor of a plain (not TLS) stream socket under `transport`, or Unsupported."""
    if not hasattr(os, "sendfile"):
        raise Unsupported("no os.sendfile")
    if transport.get_extra_info("ssl_object") is not None:
        raise Unsupported("TLS: the bytes must go through the TLS layer")
    sock = transport.get_extra_info("socket")
    if sock is None:
        raise Unsupported("no socket")
    if sock.type != socket.SOCK_STREAM:
        raise Unsupported("not a stream socket")
    fd = sock.fileno()
    if fd < 0:
        raise ConnectionResetError("Connection lost")
    return fd


async def wait_flushed(transport: asyncio.Transport, drain: Callable[[], Awaitable[None]]) -> None:
    """Wait until the transport has handed every byte written to it to the kernel.

    Lowers the transport's high-water mark to 0 so that it pauses the protocol until its buffer
    is empty, waits on the protocol's drain (`drain`, aiohttp's `StreamWriter.drain`), then puts
    the limits back.
    """
    if not transport.get_write_buffer_size():
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0, low=0)
    try:
        while transport.get_write_buffer_size():
            if transport.is_closing():
                raise ConnectionResetError("Connection lost")
            await drain()
            if transport.get_write_buffer_size():
                await asyncio.sleep(0.001)  # a transport that did not pause its protocol
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)


async def send_file(
    transport: asyncio.Transport,
    file: IO[bytes],
    offset: int,
    count: int,
    drain: Callable[[], Awaitable[None]],
) -> int:
    """Send `count` bytes of `file` from `offset` on the transport's socket with sendfile(2).

    The bytes written to the transport before (the headers) go first. Raises Unsupported before
    anything is sent when the connection cannot take it; ConnectionResetError when the peer or
    the transport goes away mid-way; ShortFile when the file is shorter than promised. After an
    error mid-way the connection must be closed (aiohttp does so for any error raised while a
    response is being sent). Returns the number of bytes sent (`count`).
    """
    fd = socket_fd(transport)
    if count <= 0:
        return 0
    loop = asyncio.get_running_loop()
    out_fd = os.dup(fd)
    try:
        if os.get_blocking(out_fd):
            raise Unsupported("a blocking socket would stall the event loop")
        await wait_flushed(transport, drain)
        return await _pump(loop, transport, out_fd, file.fileno(), offset, count)
    finally:
        os.close(out_fd)


async def _pump(
    loop: asyncio.AbstractEventLoop,
    transport: asyncio.Transport,
    out_fd: int,
    in_fd: int,
    offset: int,
    count: int,
) -> int:
    done: asyncio.Future[None] = loop.create_future()
    position, remaining = offset, count

    def fail(exc: BaseException) -> None:
        if not done.done():
            done.set_exception(exc)

    def on_writable() -> None:
        nonlocal position, remaining
        if done.done():
            return
        try:
            sent = os.sendfile(out_fd, in_fd, position, min(remaining, MAX_PER_CALL))
        except (BlockingIOError, InterruptedError):
            return
        except (BrokenPipeError, ConnectionError) as exc:
            fail(ConnectionResetError(str(exc)))
            return
        except OSError as exc:
            fail(exc)
            return
        if sent == 0:
            fail(ShortFile(f"the file ended {remaining} bytes early, at byte {position}"))
            return
        position += sent
        remaining -= sent
        if remaining == 0:
            done.set_result(None)

    def watchdog() -> None:
        nonlocal timer
        if done.done():
            return
        if transport.is_closing():
            fail(ConnectionResetError("Connection lost"))
            return
        on_writable()  # never stuck on a missed wake-up: EAGAIN costs one call
        if not done.done():
            timer = loop.call_later(IDLE_CHECK_SECONDS, watchdog)

    # Try at once: most calls fill the socket's buffer without waiting. Later calls run each
    # time the socket is writable, one per turn of the loop, so one transfer never holds it.
    on_writable()
    if done.done():
        done.result()
        return count
    loop.add_writer(out_fd, on_writable)
    timer = loop.call_later(IDLE_CHECK_SECONDS, watchdog)
    try:
        await done
    finally:
        timer.cancel()
        loop.remove_writer(out_fd)
    return count
