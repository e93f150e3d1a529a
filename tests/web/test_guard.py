"""The guard every route's handler runs behind: refusals the router makes (404, 405) answered
like any other, the security headers on every answer, and the request metrics it keeps."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import Runtime
from bot.web.metrics import RequestStats

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_a_path_no_route_takes_is_a_404_for_each_kind_of_caller(client: TestClient) -> None:
    plain = await client.get("/a/b/c")
    assert plain.status == 404
    page = await client.get("/a/b/c", headers=BROWSER)
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in page.headers
    api = await client.get("/api/v1/no/such/thing")
    assert api.status == 404
    assert (await api.json())["error"]["code"] == "not_found"
    assert api.headers["Cache-Control"] == "no-store"
    for response in (plain, page, api):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


async def test_a_wrong_method_is_a_405_naming_the_allowed_ones(client: TestClient) -> None:
    wrong = await client.post("/abc/raw")
    assert wrong.status == 405
    assert set(wrong.headers["Allow"].split(",")) >= {"GET", "HEAD"}
    assert wrong.headers["X-Content-Type-Options"] == "nosniff"
    api = await client.patch("/api/v1/items")
    assert api.status == 405
    assert {"GET", "POST"} <= set(api.headers["Allow"].split(","))
    assert (await api.json())["error"]["code"] == "method_not_allowed"


async def test_an_id_and_its_info_page_are_told_apart(client: TestClient, runtime: Runtime) -> None:
    created = await runtime.service.add_link("https://example.com/guard")
    content_id = created.item.content_id
    redirect = await client.get(f"/{content_id}", allow_redirects=False)
    assert redirect.status == 302
    assert redirect.headers["Location"] == "https://example.com/guard"
    info = await client.get(f"/{content_id}+", headers=BROWSER)
    assert info.status == 200
    assert "https://example.com/guard" in await info.text()
    # A segment that is no id at all is the same 404 as an unknown id, from the service.
    for path in ("/not.an-id!", "/a+b"):
        response = await client.get(path)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def test_a_raised_redirect_keeps_the_security_headers(
    client: TestClient, runtime: Runtime
) -> None:
    paste = await runtime.service.add_paste("not a link\n")
    # The info page of a paste sends the browser to the paste's own page (raised HTTPFound).
    response = await client.get(
        f"/{paste.item.content_id}+", headers=BROWSER, allow_redirects=False
    )
    assert response.status == 302
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def scrape(stats: RequestStats) -> dict[str, list]:
    registry = CollectorRegistry()
    registry.register(stats)
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_request_stats_are_exposed_as_a_counter_and_a_cumulative_histogram() -> None:
    stats = RequestStats()
    stats.observe("GET", "/{content_id}", 302, 0.007)
    stats.observe("GET", "/{content_id}", 302, 0.01)  # on a bucket's bound: counted in it
    stats.observe("GET", "/{content_id}", 404, 2.0)
    stats.observe("BREW", "/", 405, 0.001)  # any method a client invents is one label

    families = scrape(stats)

    counts = {
        (s.labels["method"], s.labels["status"]): s.value
        for s in families["refbin_http_requests"]
        if s.name == "refbin_http_requests_total"
    }
    assert counts == {("GET", "302"): 2, ("GET", "404"): 1, ("OTHER", "405"): 1}
    buckets = {
        s.labels["le"]: s.value
        for s in families["refbin_http_request_duration_seconds"]
        if s.name.endswith("_bucket") and s.labels["method"] == "GET"
    }
    assert buckets["0.005"] == 0
    assert buckets["0.01"] == 2
    assert buckets["1.0"] == 2
    assert buckets["2.5"] == 3
    assert buckets["+Inf"] == 3
    total = [
        s.value
        for s in families["refbin_http_request_duration_seconds"]
        if s.name.endswith("_sum") and s.labels["method"] == "GET"
    ]
    assert total == [2.017]
