"""The middleware in front of every route: auth, injected rate limits, errors, recording."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .context import BODY, parse_body
from .errors import DiscordHTTPError, json_response, unauthorized
from .ratelimits import RateLimitInjector
from .records import RecordedRequest, Recorder

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# API routes a bot token is not needed for: interaction callbacks and webhooks carry their own
# token in the path, and GET /gateway is public.
NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/")
NO_AUTH_PATHS = frozenset({"/gateway"})


def recording_middleware(
    *,
    token: str,
    recorder: Recorder[RecordedRequest],
    rate_limits: RateLimitInjector,
    skip_paths: frozenset[str],
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Record each request with its answer; API routes also get Discord's auth and 429s."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in skip_paths:
            return await handler(request)
        arrived = asyncio.get_running_loop().time()
        body = await parse_body(request)
        request[BODY] = body
        is_api = request.path.startswith(API_PREFIX + "/")
        path = request.path.removeprefix(API_PREFIX) if is_api else request.path
        try:
            if (
                is_api
                and _needs_auth(path)
                and request.headers.get("Authorization") != f"Bot {token}"
            ):
                raise unauthorized()
            limited = rate_limits.take(request.method, path) if is_api else None
            response = limited or await handler(request)
        except DiscordHTTPError as error:
            response = error.to_response()
        except web.HTTPException as error:
            if not is_api:
                raise
            response = json_response(
                {"message": f"{error.status}: {error.reason}", "code": 0}, status=error.status
            )
        await recorder.add(
            RecordedRequest(
                method=request.method,
                path=path,
                query=dict(request.query),
                headers=dict(request.headers),
                json=body.json,
                files=body.files,
                status=response.status,
                response=_json_of(response),
                at=arrived,
            )
        )
        return response

    return middleware


def _needs_auth(path: str) -> bool:
    return path not in NO_AUTH_PATHS and not path.startswith(NO_AUTH_PREFIXES)


def _json_of(response: web.StreamResponse) -> Any:
    if isinstance(response, web.Response) and response.content_type == "application/json":
        body = response.body
        if isinstance(body, bytes | bytearray) and body:
            return json.loads(body)
    return None
