"""Injected rate limits: the next N calls to a route answer 429 the way Discord does."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp import web

from .errors import json_response
from .records import PathPattern, compile_path


@dataclass
class InjectedRateLimit:
    """A pending 429 for `times` more calls matching `method` and `path`."""

    method: str
    path: PathPattern
    times: int
    retry_after: float
    is_global: bool
    bucket: str

    def applies_to(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.method == method
            and compile_path(self.path).fullmatch(path) is not None
        )


class RateLimitInjector:
    """Holds the injected rate limits and answers a request with 429 when one applies."""

    def __init__(self) -> None:
        self._limits: list[InjectedRateLimit] = []

    def add(
        self, method: str, path: PathPattern, *, times: int, retry_after: float, is_global: bool
    ) -> InjectedRateLimit:
        limit = InjectedRateLimit(
            method=method.upper(),
            path=path,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
            bucket=f"standin{len(self._limits):04x}",
        )
        self._limits.append(limit)
        return limit

    def take(self, method: str, path: str) -> web.Response | None:
        """A 429 answer if an injected limit applies to this call (using one of its turns)."""
        for limit in self._limits:
            if limit.applies_to(method, path):
                limit.times -= 1
                return too_many_requests(limit)
        return None


def too_many_requests(limit: InjectedRateLimit) -> web.Response:
    """Discord's 429: JSON body with retry_after, the X-RateLimit-* headers and `Via`.

    discord.py treats a 429 without a `Via` header as a Cloudflare ban and raises instead of
    retrying, so the header Discord's edge adds is part of the contract.
    """
    headers = {
        "Retry-After": str(math.ceil(limit.retry_after)),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + limit.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{limit.retry_after:.3f}",
        "X-RateLimit-Bucket": limit.bucket,
        "X-RateLimit-Scope": "global" if limit.is_global else "user",
        "Via": "1.1 google",
    }
    if limit.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": limit.retry_after,
        "global": limit.is_global,
    }
    return json_response(body, status=429, headers=headers)
