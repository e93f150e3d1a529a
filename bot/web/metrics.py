"""Prometheus metrics at `GET /metrics`, kept in a registry of the app's own.

Requests are labelled by their route's pattern (`/{content_id}/raw`), never by the URL, so ids
cannot blow up the number of series. Each process exposes its own numbers; with several web
processes, Prometheus scrapes each of them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.models import KINDS, Created
from bot.service import ContentService
from bot.web.keys import SERVICE_KEY
from bot.web.types import Handler

log = logging.getLogger(__name__)

STORAGE_TTL = 15.0  # seconds the blob totals read from the database are reused
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # requests no route took (404 and 405 from the router)


class Metrics:
    """The app's collectors."""

    def __init__(self, service: ContentService) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "refbin_http_requests",
            "HTTP requests answered, by method, route pattern and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "refbin_http_request_duration_seconds",
            "Time until the handler answered (a streamed body's transfer is not included).",
            ["method", "route"],
            registry=registry,
        )
        self.items_created = Counter(
            "refbin_items_created",
            "New items made through this process's web server, by kind.",
            ["kind"],
            registry=registry,
        )
        for kind in KINDS:
            self.items_created.labels(kind)
        self.visits = Counter(
            "refbin_visits_counted",
            "Visits written to the database by this process's batched flushes.",
            registry=registry,
        )
        self.pending = Gauge(
            "refbin_visits_pending",
            "Visits counted in this process's memory and not yet flushed.",
            registry=registry,
        )
        self.pending.set_function(lambda: service.counter.pending)
        self.blob_bytes = Gauge(
            "refbin_blob_bytes",
            "Bytes stored, each blob once (read from the database at most every 15 s).",
            registry=registry,
        )
        self.blobs = Gauge(
            "refbin_blobs",
            "Blobs stored (read from the database at most every 15 s).",
            registry=registry,
        )
        self._storage_read_at = float("-inf")
        self._storage_lock = asyncio.Lock()

    async def refresh_storage(self) -> None:
        """Read the blob totals when the last reading is older than STORAGE_TTL."""
        async with self._storage_lock:
            if time.monotonic() - self._storage_read_at < STORAGE_TTL:
                return
            try:
                count, size = await self.service.blob_totals()
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                log.warning("could not read the blob totals for /metrics: %s", exc)
                return
            self.blobs.set(count)
            self.blob_bytes.set(size)
            self._storage_read_at = time.monotonic()

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        method = request.method if request.method in METHODS else "OTHER"
        route = route_label(request)
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


METRICS_KEY = web.AppKey("metrics", Metrics)


def setup_metrics(app: web.Application) -> None:
    """Give the app its collectors and `GET /metrics`; count the visit flushes while it runs."""
    service = app[SERVICE_KEY]
    metrics = Metrics(service)
    app[METRICS_KEY] = metrics
    unsubscribe = service.counter.on_flush(metrics.visits.inc)

    async def stop_counting(app: web.Application) -> None:
        unsubscribe()

    app.on_cleanup.append(stop_counting)
    app.router.add_get("/metrics", metrics_page)


def route_label(request: web.Request) -> str:
    """The pattern of the route that took the request, e.g. `/{content_id}/raw`."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def count_created(request: web.Request, created: Created) -> None:
    """Count a newly made item (not one an add found already there)."""
    metrics = request.app.get(METRICS_KEY)
    if metrics is not None and created.created:
        metrics.items_created.labels(created.item.kind).inc()


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by route and status, and time it; outermost, so it sees the status
    the other middlewares settled on."""
    metrics = request.app[METRICS_KEY]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away first
        raise
    finally:
        metrics.observe(request, status, time.perf_counter() - started)


async def metrics_page(request: web.Request) -> web.Response:
    """The metrics in Prometheus's text format."""
    metrics = request.app[METRICS_KEY]
    await metrics.refresh_storage()
    return web.Response(
        body=generate_latest(metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )
