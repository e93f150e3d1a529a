"""GET /metrics: Prometheus text from a registry of the app's own, labelled by route pattern."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import Runtime
from bot.web import create_app
from tests.helpers import id_of, png_bytes


async def scrape(client: TestClient) -> dict[str, list]:
    """The samples of every family, by family name."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list, name: str, **labels: str) -> float:
    matching = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(matching) == 1, (name, labels, samples)
    return matching[0]


async def test_requests_are_counted_by_route_pattern_not_by_url(
    client: TestClient, runtime: Runtime
) -> None:
    ids = [(await runtime.service.add_paste(f"paste {n}")).item.content_id for n in range(3)]
    for content_id in ids:
        assert (await client.get(f"/{content_id}/raw")).status == 200
    assert (await client.get("/nosuchid/raw")).status == 404
    assert (await client.get("/a/b/c/d")).status == 404

    families = await scrape(client)

    requests = families["refbin_http_requests"]
    total = "refbin_http_requests_total"
    assert value(requests, total, method="GET", route="/{content_id}/raw", status="200") == 3
    assert value(requests, total, method="GET", route="/{content_id}/raw", status="404") == 1
    assert value(requests, total, method="GET", route="unmatched", status="404") == 1
    labels = {v for s in requests for v in s.labels.values()}
    assert not labels & set(ids)  # no id ever becomes a label
    latency = families["refbin_http_request_duration_seconds"]
    count = "refbin_http_request_duration_seconds_count"
    assert value(latency, count, method="GET", route="/{content_id}/raw") == 4


async def test_new_items_are_counted_by_kind(client: TestClient, runtime: Runtime) -> None:
    token = await runtime.service.create_api_token("metrics")
    headers = {"Authorization": f"Bearer {token}"}
    await client.post("/", data={"url": "https://example.com/m"})
    for _ in range(2):  # the second add finds the first: not a new item
        await client.post("/api/v1/items", json={"text": "same"}, headers=headers)
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(), filename="m.png")
    await client.post("/api/v1/items", data=form)

    created = (await scrape(client))["refbin_items_created"]

    total = "refbin_items_created_total"
    assert value(created, total, kind="url") == 1
    assert value(created, total, kind="text") == 1
    assert value(created, total, kind="image") == 1
    assert value(created, total, kind="file") == 0


async def test_pending_and_flushed_visits(client: TestClient, runtime: Runtime) -> None:
    response = await client.post("/", data={"url": "https://example.com/v"})
    content_id = id_of(await response.text())
    for _ in range(5):
        await client.get(f"/{content_id}", allow_redirects=False)

    before = await scrape(client)
    await runtime.service.counter.flush(runtime.db.pool)
    after = await scrape(client)

    assert value(before["refbin_visits_pending"], "refbin_visits_pending") == 5
    assert value(before["refbin_visits_counted"], "refbin_visits_counted_total") == 0
    assert value(after["refbin_visits_pending"], "refbin_visits_pending") == 0
    assert value(after["refbin_visits_counted"], "refbin_visits_counted_total") == 5


async def test_stored_bytes_come_from_the_database(client: TestClient, runtime: Runtime) -> None:
    await runtime.service.add_paste("x" * 1000)
    form = aiohttp.FormData()
    form.add_field("file", b"\x00" * 5000, filename="zeros.bin")
    await client.post("/", data=form)
    expected = await runtime.db.pool.fetchrow("SELECT count(*) AS n, sum(size) AS bytes FROM blobs")

    families = await scrape(client)

    assert value(families["refbin_blob_bytes"], "refbin_blob_bytes") == expected["bytes"] == 6000
    assert value(families["refbin_blobs"], "refbin_blobs") == expected["n"] == 2


async def test_each_app_has_its_own_registry(runtime: Runtime) -> None:
    async with (
        TestClient(TestServer(create_app(runtime.service))) as first,
        TestClient(TestServer(create_app(runtime.service))) as second,
    ):
        for _ in range(3):
            await first.get("/healthz")
        await second.get("/healthz")
        total = "refbin_http_requests_total"
        healthz = {"method": "GET", "route": "/healthz", "status": "200"}
        one = (await scrape(first))["refbin_http_requests"]
        two = (await scrape(second))["refbin_http_requests"]
        assert value(one, total, **healthz) == 3
        assert value(two, total, **healthz) == 1
