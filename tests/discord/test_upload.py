"""/upload through the real discord.py: attachments streamed from the stand-in's CDN."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.config import Settings
from bot.service.guilds import GuildSettings
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    running_refbin,
)
from tests.helpers import id_of, png_bytes

LIMIT = 64 * 1024
CDN = re.compile(r"/(ephemeral-)?attachments/.+")


@pytest.fixture(name="small_refbin")
async def small_refbin_fixture(discord_settings: Settings):
    """The bot on an instance whose upload limit is 64 KiB."""
    small = dataclasses.replace(
        discord_settings, limits=dataclasses.replace(discord_settings.limits, upload=LIMIT)
    )
    async with running_refbin(small) as running:
        yield running


async def stored_bytes(refbin: RefbinDiscord, sha256: str) -> bytes:
    return b"".join([chunk async for chunk in refbin.service.open_blob(sha256)])


async def test_an_image_is_streamed_in_and_answered_with_its_thumbnail(
    small_refbin: RefbinDiscord,
) -> None:
    refbin = small_refbin
    data = png_bytes(300, 200)
    photo = refbin.api.add_attachment("holiday *photo*.png", data)

    answer = await refbin.command("upload", user=refbin.alice, options={"file": photo})

    assert answer.callback.type == 5 and not answer.ephemeral
    [embed] = answer.embeds
    item = await refbin.service.get(id_of(embed["url"]))
    assert (item.kind, item.width, item.height) == ("image", 300, 200)
    assert item.filename == "holiday *photo*.png"
    assert embed["image"]["url"] == f"{embed['url']}/thumb"
    assert r"holiday \*photo\*.png" in answer.text  # Markdown in the name is escaped
    assert await stored_bytes(refbin, item.sha256) == data
    [download] = refbin.api.find_requests("GET", CDN)
    assert download.status == 200


async def test_three_attachments_make_three_items(small_refbin: RefbinDiscord) -> None:
    refbin = small_refbin
    files = {
        "file": refbin.api.add_attachment("a.png", png_bytes(20, 20)),
        "file2": refbin.api.add_attachment("notes.txt", b"some notes\n"),
        "file3": refbin.api.add_attachment("blob.bin", bytes(range(256)) * 100),
    }

    answer = await refbin.command("upload", user=refbin.alice, options=files)

    items = [await refbin.service.get(id_of(e["url"])) for e in answer.embeds]
    assert [i.kind for i in items] == ["image", "file", "file"]
    assert [i.filename for i in items] == ["a.png", "notes.txt", "blob.bin"]
    assert all(i.owner_id == items[0].owner_id is not None for i in items)


async def test_an_attachment_over_the_limit_is_refused_without_downloading_it(
    small_refbin: RefbinDiscord,
) -> None:
    refbin = small_refbin
    big = refbin.api.add_attachment("big.bin", bytes(LIMIT + 1))

    answer = await refbin.command("upload", user=refbin.alice, options={"file": big})

    assert answer.type == 4 and answer.ephemeral
    assert answer.content == "big.bin is 64 KiB: over the upload limit of 64 KiB."
    assert not refbin.api.find_requests("GET", CDN)


async def test_a_servers_lower_limit_applies(small_refbin: RefbinDiscord) -> None:
    refbin = small_refbin
    await refbin.service.save_guild_settings(
        GuildSettings(guild_id=refbin.guild.id, upload_limit=1024)
    )
    file = refbin.api.add_attachment("two-k.bin", bytes(2048))

    answer = await refbin.command("upload", user=refbin.alice, options={"file": file})

    assert answer.ephemeral
    assert "over the upload limit of 1 KiB" in answer.content
    assert not refbin.api.find_requests("GET", CDN)


async def test_the_stream_is_cut_off_at_the_limit_whatever_size_was_claimed(
    small_refbin: RefbinDiscord,
) -> None:
    refbin = small_refbin
    liar = refbin.api.add_attachment("liar.bin", bytes(LIMIT * 4))
    liar["size"] = 10  # the size the payload claims, not the bytes the CDN serves

    answer = await refbin.command("upload", user=refbin.alice, options={"file": liar})

    assert answer.ephemeral
    assert answer.content == f"The upload is larger than the limit of {LIMIT:,} bytes."
    async with refbin.runtime.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM blobs") == 0


async def test_a_server_that_allows_only_images_refuses_other_files(
    small_refbin: RefbinDiscord,
) -> None:
    refbin = small_refbin
    await refbin.service.save_guild_settings(
        GuildSettings(guild_id=refbin.guild.id, allowed_kinds=("url", "image"))
    )
    image = refbin.api.add_attachment("ok.png", png_bytes(10, 10))
    text = refbin.api.add_attachment("no.txt", b"plain text\n")

    answer = await refbin.command(
        "upload", user=refbin.alice, options={"file": image, "file2": text}
    )

    [embed] = answer.embeds
    assert (await refbin.service.get(id_of(embed["url"]))).kind == "image"
    assert "**no.txt**: This server does not allow storing files." in answer.content
    async with refbin.runtime.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM refs") == 1


async def test_the_owners_quota_applies_to_uploads_from_discord(
    discord_settings: Settings,
) -> None:
    limits = dataclasses.replace(discord_settings.limits, quota=4096)
    async with running_refbin(dataclasses.replace(discord_settings, limits=limits)) as refbin:
        first = refbin.api.add_attachment("first.bin", bytes(3000))
        second = refbin.api.add_attachment("second.bin", b"\x01" * 3000)
        kept = await refbin.command("upload", user=refbin.alice, options={"file": first})
        refused = await refbin.command("upload", user=refbin.alice, options={"file": second})
        for_bob = await refbin.command("upload", user=refbin.bob, options={"file": second})

    assert kept.embeds and for_bob.embeds
    assert refused.ephemeral
    assert refused.content.startswith("This would take you past your storage quota of 4,096 bytes")
