"""Blocked items and blocked domains answer 451, for items made before the block too."""

from __future__ import annotations

import dataclasses

import pytest

from bot.errors import Blocked, NotFound


async def test_blocked_item_answers_451_until_unblocked(runtime, client) -> None:
    created = await runtime.service.add_paste("phishy")
    content_id = created.item.content_id
    await runtime.service.block(content_id, "reported as phishing")
    response = await client.get(f"/{content_id}")
    assert response.status == 451
    body = await response.json()
    assert body["error"]["code"] == "blocked"
    assert "reported as phishing" in body["error"]["message"]
    assert (await client.get(f"/{content_id}/raw")).status == 451
    await runtime.service.block(content_id, None)
    assert (await client.get(f"/{content_id}")).status == 200
    with pytest.raises(NotFound):
        await runtime.service.block("nosuch", "x")


async def test_blocked_domain_refuses_new_links_and_stops_old_ones(runtime, client) -> None:
    old = await runtime.service.add_link("https://login.evil.example/steal")
    runtime.service.settings = dataclasses.replace(
        runtime.service.settings,
        limits=dataclasses.replace(
            runtime.service.settings.limits, blocked_domains=("evil.example",)
        ),
    )
    with pytest.raises(Blocked):
        await runtime.service.add_link("https://EVIL.example./x")
    await runtime.service.add_link("https://notevil.example/x")  # a suffix, not a subdomain
    response = await client.get(f"/{old.item.content_id}", allow_redirects=False)
    assert response.status == 451
    refused = await client.post("/", data={"url": "https://evil.example/"})
    assert refused.status == 451
