"""Buttons that time out are taken off their message, so nobody presses a dead one."""

from __future__ import annotations

import re

import pytest

from bot.discord.ui import OwnedView
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)


@pytest.fixture(autouse=True)
def short_lived_views(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OwnedView, "lifetime", 0.3)


async def test_a_timed_out_delete_confirmation_loses_its_buttons(refbin: RefbinDiscord) -> None:
    made = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://example.com/old"}
    )
    content_id = made.embeds[0]["url"].rsplit("/", 1)[1]
    asked = await refbin.command("delete", user=refbin.alice, options={"id": content_id})
    assert asked.button_labels() == ["Delete", "Cancel"]
    assert asked.message is not None and asked.ephemeral

    edit = await refbin.api.wait_for_request(
        "PATCH",
        re.compile(f"/webhooks/{refbin.api.application_id}/.+/messages/{asked.message['id']}"),
    )

    assert edit.json is not None and edit.json["components"] == []
    assert refbin.api.components_of(asked.message) == []
    assert await refbin.service.get(content_id)  # nothing was deleted


async def test_a_view_answered_at_once_loses_its_buttons_too(refbin: RefbinDiscord) -> None:
    for n in range(12):  # more than one page of /mine
        await refbin.command(
            "shorten", user=refbin.alice, options={"url": f"https://example.com/{n}"}
        )
    listed = await refbin.command("mine", user=refbin.alice)
    assert listed.button_labels(), listed.data
    assert listed.message is not None

    await refbin.api.wait_for_request(
        "PATCH", predicate=lambda r: r.json is not None and r.json.get("components") == []
    )

    assert refbin.api.components_of(listed.message) == []
