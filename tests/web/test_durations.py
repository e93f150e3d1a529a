"""Durations past any date refbin can store are refused as bad input on every front door.

One parser (bot/units.py parse_duration) reads every duration, so `POST /`, the JSON API, the
command line and Discord all answer 400 (or one line) where a 500 (OverflowError) used to be.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp.test_utils import TestClient

from bot.runtime import Runtime

HUGE = "99999999999999999d"
MESSAGE = f"Bad expiry: duration too long: '{HUGE}' (at most 1000y)."
API = "/api/v1/items"


async def expect_invalid(response: aiohttp.ClientResponse, message: str = MESSAGE) -> None:
    body = await response.json()
    assert response.status == 400, body
    assert body["error"] == {"code": "invalid", "message": message}


async def test_a_huge_expiry_on_post_root_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    form = aiohttp.FormData()
    form.add_field("expires", HUGE)
    form.add_field("file", b"some bytes", filename="a.bin")
    await expect_invalid(await client.post("/", data=form))
    await expect_invalid(await client.post("/", data={"text": "hello", "expires": HUGE}))
    digits = "1" + "0" * 3000 + "s"  # more digits than int() reads
    await expect_invalid(
        await client.post("/", data={"url": "https://example.com/", "expires": digits}),
        f"Bad expiry: duration too long: '{digits}' (at most 1000y).",
    )
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


async def test_a_huge_expiry_on_the_api_is_400_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    await expect_invalid(await client.post(API, json={"text": "hello", "expires": HUGE}))
    form = aiohttp.FormData()
    form.add_field("expires", "1000y1s")
    form.add_field("file", b"some bytes", filename="a.bin")
    await expect_invalid(
        await client.post(API, data=form),
        "Bad expiry: duration too long: '1000y1s' (at most 1000y).",
    )
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


async def test_the_longest_expiry_accepted_is_stored(client: TestClient) -> None:
    response = await client.post(API, json={"text": "for the ages", "expires": "1000y"})
    assert response.status == 201, await response.text()
    created = await response.json()
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=365_000 - 1) < lifetime <= timedelta(days=365_000)
