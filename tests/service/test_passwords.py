"""Password guessing: limited per client and item, and per item, whatever the read limit; the
slow hash on a small pool of its own, so guessing never queues file serving behind it."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from aiohttp.test_utils import TestClient

from bot.errors import PasswordRequired, RateLimited
from bot.models import ItemOptions
from bot.runtime import Runtime
from bot.service import passwords
from bot.service.passwords import HASH_EXECUTOR, HASH_WORKERS, PER_CLIENT, PER_ITEM, GuessLimiter
from tests.helpers import chunks_of


async def protected(runtime: Runtime, text: str = "behind a password\n") -> str:
    created = await runtime.service.add_paste(text, options=ItemOptions(password="right"))
    return created.item.content_id


async def test_wrong_passwords_are_429_per_client_and_item_whatever_the_read_limit(
    client: TestClient, runtime: Runtime
) -> None:
    assert runtime.settings.limits.rate_read == 0  # the read limit is off
    content_id = await protected(runtime)
    other_id = await protected(runtime, "another\n")
    wrong = {"X-Password": "wrong"}

    # Every door that takes a password counts against the same allowance.
    doors = [
        lambda: client.get(f"/{content_id}/raw", headers=wrong),
        lambda: client.get(f"/{content_id}", headers=wrong),
        lambda: client.get(f"/api/v1/items/{content_id}", headers=wrong),
        lambda: client.post(f"/{content_id}/unlock", data={"password": "wrong"}),
    ]
    for n in range(PER_CLIENT):
        assert (await doors[n % len(doors)]()).status == 401
    for door in doors:
        refused = await door()
        assert refused.status == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Even the right password waits now: otherwise the limit would only hide the answers.
    right = await client.get(f"/{content_id}/raw", headers={"X-Password": "right"})
    assert right.status == 429
    # Another item is another allowance.
    assert (await client.get(f"/{other_id}/raw", headers=wrong)).status == 401
    opened = await client.get(f"/{other_id}/raw", headers={"X-Password": "right"})
    assert opened.status == 200


async def test_right_passwords_are_not_guesses(client: TestClient, runtime: Runtime) -> None:
    content_id = await protected(runtime)
    for _ in range(PER_CLIENT * 3):
        opened = await client.get(f"/{content_id}/raw", headers={"X-Password": "right"})
        assert opened.status == 200


async def test_an_item_takes_a_capped_number_of_wrong_passwords_from_everyone(
    runtime: Runtime,
) -> None:
    service = runtime.service
    content_id = await protected(runtime)
    clients = [f"ip:10.0.0.{n}" for n in range(PER_ITEM // PER_CLIENT + 1)]
    refused = 0
    for client in clients:
        for _ in range(PER_CLIENT):
            try:
                await service.check_password(content_id, "wrong", client=client)
            except RateLimited:
                refused += 1
            except PasswordRequired:
                pass
    assert refused == len(clients) * PER_CLIENT - PER_ITEM
    with pytest.raises(RateLimited):
        await service.check_password(content_id, "right", client="ip:10.9.9.9")


def test_concurrent_guesses_are_counted_before_they_are_judged() -> None:
    now = [100.0]
    limiter = GuessLimiter(per_client=3, per_item=100, clock=lambda: now[0])
    stamps = [limiter.begin("item", "me") for _ in range(3)]  # three still being checked
    with pytest.raises(RateLimited) as refused:
        limiter.begin("item", "me")
    assert refused.value.retry_after == pytest.approx(60)
    limiter.succeeded("item", "me", stamps[0])  # one was right: it was no guess
    limiter.begin("item", "me")
    now[0] += 61
    limiter.begin("item", "me")  # the window has passed


async def test_guessing_runs_on_its_own_small_pool_and_never_holds_up_a_download(
    client: TestClient, runtime: Runtime
) -> None:
    """64 guessing connections (one item each, so no limit stops them) keep the password pool
    busy; a 200 KB download meanwhile finishes while guesses are still queued there, and no
    more than HASH_WORKERS threads ever hash."""
    ids = await asyncio.gather(*(protected(runtime, f"secret {n}\n") for n in range(64)))
    data = os.urandom(200 * 1024)
    download = await runtime.service.add_upload(chunks_of(data), filename="big.bin")
    path = f"/{download.item.content_id}/raw"
    assert await (await client.get(path)).read() == data  # warm: this is not a cold start

    async def guess(content_id: str) -> int:
        response = await client.get(f"/{content_id}/raw", headers={"X-Password": "wrong"})
        return response.status

    guesses = [asyncio.create_task(guess(content_id)) for content_id in ids]
    for _ in range(3000):  # until the pool is busy, with work queued (a queue has no event)
        if HASH_EXECUTOR._work_queue.qsize() >= 16:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the guesses never reached the password pool")
    hashing = [t for t in threading.enumerate() if t.name.startswith("refbin-password")]
    response = await client.get(path)
    body = await response.read()
    still_queued = HASH_EXECUTOR._work_queue.qsize()
    statuses = await asyncio.gather(*guesses)

    assert body == data
    assert still_queued > 0, "the download waited for the guesses"
    assert 1 <= len(hashing) <= HASH_WORKERS <= 4
    assert statuses == [401] * 64
    # Making a password goes through the same pool.
    assert (await passwords.hash_password("x")).startswith("scrypt$")
