"""API tokens through the service: one live token a name, and when each was last used."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from bot.errors import Conflict, Invalid
from bot.runtime import Runtime


async def test_two_creates_of_one_name_at_once_make_one_token_and_one_owner(
    runtime: Runtime,
) -> None:
    service = runtime.service
    results = await asyncio.gather(
        *(service.create_api_token("alice") for _ in range(5)), return_exceptions=True
    )

    assert sum(isinstance(result, str) for result in results) == 1
    assert sum(isinstance(result, Conflict) for result in results) == 4
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM owners") == 1
    assert [token.name for token in await service.list_api_tokens()] == ["alice"]


async def test_a_token_used_over_http_shows_when(client: TestClient, runtime: Runtime) -> None:
    service = runtime.service
    token = await service.create_api_token("alice")
    await service.create_api_token("bob")
    before = datetime.now(UTC)

    response = await client.get("/api/v1/items", headers={"Authorization": f"Bearer {token}"})

    assert response.status == 200
    alice, bob = await service.list_api_tokens()
    assert (alice.name, bob.name, bob.last_used_at) == ("alice", "bob", None)
    assert alice.last_used_at is not None
    assert before - timedelta(seconds=5) <= alice.last_used_at <= datetime.now(UTC)
    assert alice.created_at <= alice.last_used_at


async def test_a_token_used_again_within_a_minute_is_not_written_again(
    runtime: Runtime,
) -> None:
    service = runtime.service
    token = await service.create_api_token("busy")
    assert await service.owner_for_api_token(token) is not None
    long_ago = datetime.now(UTC) - timedelta(days=3)
    await runtime.db.pool.execute("UPDATE api_tokens SET last_used_at = $1", long_ago)

    for _ in range(20):
        assert await service.owner_for_api_token(token) is not None

    (listed,) = await service.list_api_tokens()
    assert listed.last_used_at == long_ago  # no write per request


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_a_token_name_is_1_to_100_characters(runtime: Runtime, name: str) -> None:
    with pytest.raises(Invalid):
        await runtime.service.create_api_token(name)
