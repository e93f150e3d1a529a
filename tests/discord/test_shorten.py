"""/shorten through the real discord.py against the stand-in."""

from __future__ import annotations

import dataclasses
import io

from PIL import Image

from bot.config import Settings
from bot.qr import qr_code
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
    running_refbin,
)
from tests.helpers import id_of


async def test_shorten_answers_an_embed_with_the_link_host_and_expiry(
    refbin: RefbinDiscord,
) -> None:
    answer = await refbin.command(
        "shorten",
        user=refbin.alice,
        options={"url": "https://Example.com/some/long/path?q=1", "expires": "2d"},
    )

    assert not answer.ephemeral
    [embed] = answer.embeds
    short_url = embed["url"]
    item = await refbin.service.get(id_of(short_url))
    assert item.target == "https://example.com/some/long/path?q=1"
    assert item.guild_id == refbin.guild.id
    assert item.expires_at is not None
    assert "example.com" in answer.text
    assert f"<t:{int(item.expires_at.timestamp())}:f>" in answer.text
    assert answer.button_labels() == ["QR code"]


async def test_qr_button_answers_a_png_only_to_the_presser(refbin: RefbinDiscord) -> None:
    shortened = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://example.com/qr"}
    )

    qr = await refbin.click(shortened, "QR code", user=refbin.bob)

    assert qr.ephemeral
    [upload] = qr.request.files
    assert upload.filename.endswith("-qr.png")
    with Image.open(io.BytesIO(upload.data)) as picture:
        assert picture.format == "PNG" and picture.width >= 100
    assert qr.content == shortened.embeds[0]["url"]
    assert upload.data == qr_code(qr.content, "png")  # the web's /{id}/qr?format=png, too


async def test_a_javascript_link_is_refused_privately_and_nothing_is_stored(
    refbin: RefbinDiscord,
) -> None:
    answer = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "javascript:alert(1)"}
    )

    assert answer.ephemeral
    assert "Only http and https links" in answer.content
    async with refbin.runtime.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM refs") == 0


async def test_a_private_link_gets_a_long_id_and_an_ephemeral_answer(
    refbin: RefbinDiscord,
) -> None:
    answer = await refbin.command(
        "shorten",
        user=refbin.alice,
        options={"url": "https://example.com/secret", "private": True, "max_views": 3},
    )

    assert answer.ephemeral
    content_id = id_of(answer.embeds[0]["url"])
    assert len(content_id) >= 22
    item = await refbin.service.get(content_id)
    assert (item.visibility, item.max_views) == ("private", 3)


async def test_a_taken_alias_is_a_clear_message(refbin: RefbinDiscord) -> None:
    first = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://a.example/", "alias": "home"}
    )
    second = await refbin.command(
        "shorten", user=refbin.bob, options={"url": "https://b.example/", "alias": "home"}
    )

    assert first.embeds[0]["url"].endswith("/home")
    assert second.ephemeral and "alias 'home' is taken" in second.content


async def test_a_bad_expiry_is_refused_before_anything_else(refbin: RefbinDiscord) -> None:
    answer = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://example.com/", "expires": "soon"}
    )

    assert answer.type == 4 and answer.ephemeral  # answered at once, no deferral
    assert "is not an expiry" in answer.content


async def test_creating_too_fast_is_told_how_long_to_wait(discord_settings: Settings) -> None:
    limited = dataclasses.replace(
        discord_settings, limits=dataclasses.replace(discord_settings.limits, rate_create=1)
    )
    async with running_refbin(limited) as running:
        first = await running.command(
            "shorten", user=running.alice, options={"url": "https://example.com/1"}
        )
        second = await running.command(
            "shorten", user=running.alice, options={"url": "https://example.com/2"}
        )
        other_user = await running.command(
            "shorten", user=running.bob, options={"url": "https://example.com/3"}
        )

    assert first.embeds and other_user.embeds
    assert second.ephemeral and second.type == 4
    assert second.content.startswith("Slow down: Too many requests; try again in")
