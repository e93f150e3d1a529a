"""Prometheus metrics at `GET /metrics`, kept in a registry of the app's own.

Requests are labelled by their route's pattern (`/{content_id}/raw`), never by the URL, so ids
cannot blow up the number of series. A request whose client went away before the answer (an
upload cut short) is counted with status 499, as nginx logs it, so that only refbin's own faults
are 5xx. Each process exposes its own numbers; with several web processes, Prometheus scrapes
each of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from bot.errors import Unavailable
from bot.models import KINDS, Created
from bot.service import ContentService
from bot.web.keys import SERVICE_KEY

log = logging.getLogger(__name__)

STORAGE_TTL = 15.0  # seconds the blob totals read from the database are reused
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = Histogram.DEFAULT_BUCKETS  # upper bounds in seconds, the last one +Inf
UNMATCHED = "unmatched"  # the route label of requests no route took (404 and 405)


class Metrics:
    """The app's collectors."""

    def __init__(self, service: ContentService) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = RequestStats()
        registry.register(self.requests)
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
            except Unavailable as exc:
                log.warning("could not read the blob totals for /metrics: %s", exc)
                return
            self.blobs.set(count)
            self.blob_bytes.set(size)
            self._storage_read_at = time.monotonic()


class RequestStats(Collector):
    """Requests by method, route and status, and their time by method and route.

    Counted in plain dicts and turned into Prometheus families only when scraped: a labelled
    prometheus_client Counter and Histogram look the series up and take a lock for every
    increment, a measurable share of a redirect's CPU. Only the event loop's thread counts.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        # Per (method, route): the count in each latency bucket, then the sum of the seconds.
        self.times: dict[tuple[str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its time; `route` is its route's pattern."""
        if method not in METHODS:
            method = "OTHER"  # a client may send any method: keep the label set bounded
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        series = self.times.get((method, route))
        if series is None:
            series = self.times[(method, route)] = [0.0] * (len(BUCKETS) + 1)
        series[bisect_left(BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "refbin_http_requests",
            "HTTP requests answered, by method, route pattern and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in self.counts.items():
            requests.add_metric([method, route, str(status)], count)
        latency = HistogramMetricFamily(
            "refbin_http_request_duration_seconds",
            "Time until the handler answered (a streamed body's transfer is not included).",
            labels=["method", "route"],
        )
        for (method, route), series in self.times.items():
            cumulative = list(accumulate(series[:-1]))
            latency.add_metric(
                [method, route],
                buckets=[(floatToGoString(b), n) for b, n in zip(BUCKETS, cumulative, strict=True)],
                sum_value=series[-1],
            )
        yield requests
        yield latency


METRICS_KEY = web.AppKey("metrics", Metrics)


def setup_metrics(app: web.Application) -> Metrics:
    """Give the app its collectors (served by ROUTES); count the visit flushes while it runs."""
    service = app[SERVICE_KEY]
    metrics = Metrics(service)
    app[METRICS_KEY] = metrics
    unsubscribe = service.counter.on_flush(metrics.visits.inc)

    async def stop_counting(app: web.Application) -> None:
        unsubscribe()

    app.on_cleanup.append(stop_counting)
    return metrics


def count_created(request: web.Request, created: Created) -> None:
    """Count a newly made item (not one an add found already there)."""
    metrics = request.app.get(METRICS_KEY)
    if metrics is not None and created.created:
        metrics.items_created.labels(created.item.kind).inc()


async def metrics_page(request: web.Request) -> web.Response:
    """The metrics in Prometheus's text format."""
    metrics = request.app[METRICS_KEY]
    await metrics.refresh_storage()
    return web.Response(
        body=generate_latest(metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


ROUTES = [web.get("/metrics", metrics_page)]
