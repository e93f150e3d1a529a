"""Rate limits per client and bucket (429 with Retry-After), and per-owner storage quotas."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.errors import RateLimited, TooLarge
from bot.models import ItemOptions
from bot.runtime import open_runtime
from bot.service.ratelimit import RateLimiter
from bot.web import create_app
from tests.helpers import chunks_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_refuses_then_recovers() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"create": 3, "read": 0}, clock=clock)
    for _ in range(3):
        limiter.check("create", "ip:1")
    with pytest.raises(RateLimited) as caught:
        limiter.check("create", "ip:1")
    assert caught.value.retry_after == pytest.approx(60.0)
    limiter.check("create", "ip:2")  # another client has its own bucket
    for _ in range(100):
        limiter.check("read", "ip:1")  # 0 means no limit
    clock.now += 30
    with pytest.raises(RateLimited) as caught:
        limiter.check("create", "ip:1")
    assert caught.value.retry_after == pytest.approx(30.0)
    clock.now += 30.01
    limiter.check("create", "ip:1")


async def test_web_answers_429_with_retry_after_per_bucket(settings) -> None:
    limited = dataclasses.replace(
        settings,
        limits=dataclasses.replace(settings.limits, rate_create=2, rate_read=5, rate_delete=1),
    )
    async with open_runtime(limited) as runtime:
        async with TestClient(TestServer(create_app(runtime.service))) as client:
            urls = []
            for n in range(2):
                response = await client.post("/", data={"url": f"https://example.com/{n}"})
                assert response.status == 201
                urls.append((await response.text()).strip().rsplit("/", 1)[-1])
            refused = await client.post("/", data={"url": "https://example.com/3"})
            assert refused.status == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert (await refused.json())["error"]["code"] == "rate_limited"
            assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 2
            # Reading has its own bucket, untouched by the creates.
            statuses = [
                (await client.get(f"/{urls[0]}", allow_redirects=False)).status for _ in range(6)
            ]
            assert statuses == [302] * 5 + [429]
            assert (await client.get("/healthz")).status == 200  # never limited


async def test_quota_refuses_what_would_pass_it(runtime) -> None:
    service = runtime.service
    service.settings = dataclasses.replace(
        service.settings, limits=dataclasses.replace(service.settings.limits, quota=10_000)
    )
    owner_id = await service.owner_for_discord_user(5, "quota-user")
    options = ItemOptions(owner_id=owner_id)
    await service.add_upload(chunks_of(b"a" * 6000), options=options)
    with pytest.raises(TooLarge, match="quota of 10,000 bytes"):
        await service.add_upload(chunks_of(b"b" * 6000), options=options)
    with pytest.raises(TooLarge, match="quota"):
        await service.add_paste("c" * 5000, options=options)
    await service.add_paste("small", options=options)
    await service.add_upload(chunks_of(b"b" * 6000))  # anonymous items have no quota
    assert list(service.stager.tmp_dir.glob("*.part")) == []
