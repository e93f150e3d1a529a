"""The first server: POST / from curl, GET /{id} and /{id}/raw, the status codes and headers."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.runtime import open_runtime
from bot.web import create_app
from tests.helpers import id_of, png_bytes


def form(**fields: object) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content = value
            data.add_field(name, content, filename=filename)
        else:
            data.add_field(name, str(value))
    return data


async def test_link_is_shortened_and_redirects(client: TestClient) -> None:
    response = await client.post("/", data=form(url="https://example.com/page"))
    assert response.status == 201
    short = (await response.text()).strip()
    assert response.headers["X-Delete-Token"]
    follow = await client.get(f"/{id_of(short)}", allow_redirects=False)
    assert follow.status == 302
    assert follow.headers["Location"] == "https://example.com/page"
    assert follow.headers["X-Content-Type-Options"] == "nosniff"


async def test_paste_is_served_as_plain_text(client: TestClient) -> None:
    text = "<script>alert(1)</script>\nprint('hi')\n"
    response = await client.post("/", data=form(text=text))
    assert response.status == 201
    content_id = id_of(await response.text())
    for path in (f"/{content_id}", f"/{content_id}/raw"):
        page = await client.get(path)
        assert page.status == 200
        assert page.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert await page.text() == text


async def test_png_round_trips(client: TestClient) -> None:
    data = png_bytes()
    response = await client.post("/", data=form(file=("pic.png", data)))
    content_id = id_of(await response.text())
    raw = await client.get(f"/{content_id}/raw")
    assert raw.status == 200
    assert raw.headers["Content-Type"] == "image/png"
    assert await raw.read() == data


@pytest.mark.parametrize(
    "payload",
    [
        b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><root/>',
    ],
)
async def test_active_content_is_never_served_inline(client: TestClient, payload: bytes) -> None:
    response = await client.post("/", data=form(file=("innocent.png", payload)))
    content_id = id_of(await response.text())
    for path in (f"/{content_id}", f"/{content_id}/raw"):
        served = await client.get(path)
        assert served.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in served.headers["Content-Security-Policy"]
        assert served.headers["X-Content-Type-Options"] == "nosniff"


async def test_unknown_id_is_404_and_bad_input_400(client: TestClient) -> None:
    assert (await client.get("/nosuchid")).status == 404
    bad = await client.post("/", data=form(url="javascript:alert(1)"))
    assert bad.status == 400
    body = await bad.json()
    assert body["error"]["code"] == "invalid"
    assert "http and https" in body["error"]["message"]
    empty = await client.post("/", data=form(other="x"))
    assert empty.status == 400


async def test_used_up_item_is_410(client: TestClient) -> None:
    response = await client.post("/", data=form(text="once", max_views="1"))
    content_id = id_of(await response.text())
    assert (await client.get(f"/{content_id}")).status == 200
    gone = await client.get(f"/{content_id}")
    assert gone.status == 410
    assert (await gone.json())["error"]["code"] == "gone"


async def test_upload_over_the_limit_is_413(runtime, settings) -> None:
    small = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, upload=1024))
    runtime.service.settings = small
    async with TestClient(TestServer(create_app(runtime.service))) as client:
        response = await client.post("/", data=form(file=("big.bin", b"x" * 4096)))
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []


async def test_healthz(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_options_from_the_form(client: TestClient, runtime) -> None:
    response = await client.post(
        "/", data=form(text="opts", expires="1h", max_views="5", private="1")
    )
    content_id = id_of(await response.text())
    item = await runtime.service.get(content_id)
    assert len(content_id) >= 22
    assert item.max_views == 5 and item.visibility == "private"
    assert item.expires_at is not None
    bad = await client.post("/", data=form(text="x", expires="soon"))
    assert bad.status == 400
    assert "expiry" in (await bad.json())["error"]["message"]


async def test_runtime_reopens_on_the_same_data(settings) -> None:
    async with open_runtime(settings) as first:
        created = await first.service.add_link("https://example.com/persist")
    async with open_runtime(settings) as second:
        item = await second.service.get(created.item.content_id)
    assert item.target == "https://example.com/persist"


async def test_bytes_and_page_of_one_url_vary_by_client(client: TestClient) -> None:
    response = await client.post("/", data=form(text="vary me"))
    content_id = id_of(await response.text())
    raw = await client.get(f"/{content_id}")
    assert raw.headers["Vary"] == "Accept, User-Agent"
    assert await raw.text() == "vary me"
