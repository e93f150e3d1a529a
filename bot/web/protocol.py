"""refbin's HTTP connections: aiohttp's, with a deadline for each request's head and quiet
refusals of malformed requests.

aiohttp gives a request's head as long as its keep-alive timeout (an hour by default), however
slowly it comes, so a client that sends a head a byte every few seconds holds the connection (and
its memory) for that long; a thousand such clients hold a thousand (slow loris). Here the head
(request line and headers) must be complete within `server.header_timeout` seconds: of the
connection being made, for its first request, and of the first byte of each later one; otherwise
the connection is closed, as nginx's client_header_timeout does. Bodies have deadlines of their own
(bot/web/bodies.py), and an idle keep-alive connection is left to aiohttp's keep-alive timeout, so
a proxy's pooled connections are never cut under it.

A connection has at most one timer at a time: a head that arrives moves the deadline, not the
timer, and the timer, when it fires early, sleeps on to the deadline. A redirect on a kept-alive
connection costs a clock reading, not a timer.

aiohttp logs a malformed request (a bad request line, bad headers, bad chunked framing) with its
traceback at ERROR, as if refbin had failed; it is the client's mistake, logged here in one line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

_parse = RequestHandler.data_received  # aiohttp's own, called without super()'s cost per chunk


class HeadDeadlineHandler(RequestHandler):
    """aiohttp's protocol for one connection, with a deadline for each request's head."""

    __slots__ = ("_head_timeout", "_head_deadline", "_head_timer", "_heads", "_body")

    def __init__(self, manager: web.Server, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._head_deadline = 0.0  # 0: no head is being waited for
        self._head_timer: asyncio.TimerHandle | None = None
        self._heads = 0  # heads parsed so far (aiohttp counts them as it parses)
        self._body: StreamReader | None = None  # the last request's body

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._await_head()  # the first request's head is timed from the connection

    def data_received(self, data: bytes) -> None:
        if data and not self._head_deadline:  # (aiohttp feeds b"" to re-parse what it held)
            body = self._body
            if body is None or body.is_eof():  # past the last body: the next head begins
                self._await_head()
        _parse(self, data)
        if self._request_count != self._heads:  # a head was parsed (or refused as malformed)
            self._heads = self._request_count
            self._head_deadline = 0.0
            # (after a declined Upgrade, aiohttp parses outside this method: nothing may be queued)
            self._body = self._messages[-1][1] if self._messages else None

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _await_head(self) -> None:
        self._head_deadline = self._loop.time() + self._head_timeout
        if self._head_timer is None:
            self._head_timer = self._loop.call_at(self._head_deadline, self._head_overdue)

    def _head_overdue(self) -> None:
        self._head_timer = None
        deadline = self._head_deadline
        if not deadline:
            return  # the head came: the next one starts a timer again
        if self._loop.time() < deadline:  # a later head moved the deadline
            self._head_timer = self._loop.call_at(deadline, self._head_overdue)
            return
        peer = self.transport.get_extra_info("peername") if self.transport else None
        log.info(
            "closed a connection from %s: no complete request head within %g s",
            peer[0] if peer else "?",
            self._head_timeout,
        )
        self.force_close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse, logged in one line (not at ERROR
        with a traceback); refbin's own faults are left to aiohttp's logging."""
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # Not HTTP at all (a TLS handshake, a port scanner) is the internet's noise: debug only.
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.INFO
        log.log(level, "refused a malformed request from %s: %s", request.remote, _reason(exc))
        if request.writer.output_size > 0:  # aiohttp's rule: a response has begun already
            raise ConnectionError("a response was sent already; cannot send the error")
        response = web.Response(status=status, text=message, content_type="text/plain")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.force_close()
        return response


def _reason(exc: HttpProcessingError) -> str:
    """aiohttp's message up to its first blank line, in one line (what follows quotes the
    client's bytes)."""
    head = str(exc.message or "").split("\n\n", 1)[0]
    words = [line.strip().rstrip(":") for line in head.splitlines() if line.strip()]
    reason = ": ".join(words) or type(exc).__name__
    return reason.encode("unicode_escape").decode("ascii")  # no control reaches the log


class HeadDeadlineServer(web.Server):
    """aiohttp's low-level server, making HeadDeadlineHandler connections."""

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout

    def __call__(self) -> HeadDeadlineHandler:
        return HeadDeadlineHandler(
            self, head_timeout=self.head_timeout, loop=self._loop, **self._kwargs
        )


class HeadDeadlineRunner(web.AppRunner):
    """aiohttp's AppRunner, serving the app over HeadDeadlineHandler connections."""

    def __init__(self, app: web.Application, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.head_timeout = head_timeout

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # the app started; its handler and options resolved
        return HeadDeadlineServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            head_timeout=self.head_timeout,
            **made._kwargs,  # the connections' options, as aiohttp resolved them
        )
