"""The content service against a real database and real files."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
from datetime import timedelta

import pytest
from PIL import Image

from bot.errors import Conflict, Gone, Invalid, NotFound, PasswordRequired, TooLarge, Unprocessable
from bot.models import ItemOptions, Visit
from bot.runtime import Runtime
from bot.service import ContentService, clean_filename
from tests.helpers import chunks_of, jpeg_bytes, png_bytes

OWNER_NAME = "alice"


async def owner(runtime: Runtime, user_id: int = 1) -> int:
    return await runtime.service.owner_for_discord_user(user_id, f"user{user_id}")


async def read_all(service: ContentService, sha256: str) -> bytes:
    return b"".join([chunk async for chunk in service.open_blob(sha256)])


async def blob_files(runtime: Runtime) -> list[str]:
    root = runtime.settings.blob_path
    return sorted(p.name for p in root.glob("??/??/*") if p.is_file())


# ---- links ------------------------------------------------------------------------------


async def test_link_round_trips_normalised(runtime: Runtime) -> None:
    created = await runtime.service.add_link("HTTPS://Example.COM:443/Path?q=1#frag")
    item = await runtime.service.resolve(created.item.content_id)
    assert item.kind == "url"
    assert item.target == "https://example.com/Path?q=1#frag"
    assert created.delete_token and len(created.delete_token) >= 22


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("javascript:alert(1)", "Only http and https"),
        ("JaVaScRiPt:alert(1)", "Only http and https"),
        ("\x01 javascript:alert(1)", "Only http and https"),
        ("data:text/html,<script>", "Only http and https"),
        ("ftp://example.com/", "Only http and https"),
        ("//example.com/x", "needs a scheme"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://exa mple.com/", "spaces or control"),
        ("https://example.com/" + "a" * 2100, "longer than 2048"),
        ("http://127.0.0.1:8080/abc", "this refbin itself"),
        ("", "empty"),
    ],
)
async def test_bad_links_are_refused_with_the_reason(
    runtime: Runtime, link: str, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        await runtime.service.add_link(link)


async def test_custom_alias_and_its_refusals(runtime: Runtime) -> None:
    service = runtime.service
    created = await service.add_link("https://example.com/a", alias="my-link")
    assert created.item.content_id == "my-link"
    with pytest.raises(Conflict, match="taken"):
        await service.add_link("https://example.com/other", alias="my-link")
    for reserved in ("api", "RAW", "static", "healthz", "metrics"):
        with pytest.raises(Invalid, match="reserved"):
            await service.add_link("https://example.com/b", alias=reserved)
    with pytest.raises(Invalid, match="letters, digits"):
        await service.add_link("https://example.com/c", alias="../etc")


# ---- pastes -----------------------------------------------------------------------------


async def test_paste_round_trips_with_language_and_lines(runtime: Runtime) -> None:
    text = "def hello(name):\n    return f'hi {name}'\n\nprint(hello('é'))\n"
    created = await runtime.service.add_paste(text)
    item = await runtime.service.resolve(created.item.content_id)
    assert (item.kind, item.language, item.line_count) == ("text", "python", 4)
    assert await runtime.service.read_text(item) == text
    assert item.sha256 == hashlib.sha256(text.encode()).hexdigest()


async def test_paste_language_from_hint_then_filename(runtime: Runtime) -> None:
    hinted = await runtime.service.add_paste("x = 1", language="Ruby")
    named = await runtime.service.add_paste("x = 2", filename="main.rs")
    assert hinted.item.language == "ruby"
    assert named.item.language == "rust"
    with pytest.raises(Invalid, match="Unknown language"):
        await runtime.service.add_paste("x", language="no-such-language")


async def test_paste_refusals(runtime: Runtime) -> None:
    service = runtime.service
    with pytest.raises(Invalid, match="empty"):
        await service.add_paste("  \n ")
    with pytest.raises(TooLarge):
        await service.add_paste("a" * (runtime.settings.limits.paste + 1))


# ---- files and images -------------------------------------------------------------------


async def test_file_round_trips_byte_for_byte(runtime: Runtime) -> None:
    data = bytes(range(256)) * 5000
    created = await runtime.service.add_upload(chunks_of(data), filename="blob.bin")
    item = await runtime.service.resolve(created.item.content_id)
    assert item.kind == "file"
    assert item.size == len(data)
    assert item.media_type == "application/octet-stream"
    assert await read_all(runtime.service, item.sha256) == data


async def test_image_gets_dimensions_and_thumbnail(runtime: Runtime) -> None:
    data = png_bytes(1200, 900)
    created = await runtime.service.add_upload(chunks_of(data), filename="photo.txt")
    item = created.item
    assert (item.kind, item.media_type, item.width, item.height) == (
        "image",
        "image/png",
        1200,
        900,
    )
    thumb = await read_all(runtime.service, item.thumb_sha256)
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 512


async def test_exif_orientation_is_applied(runtime: Runtime) -> None:
    created = await runtime.service.add_upload(chunks_of(jpeg_bytes(800, 600, orientation=6)))
    assert (created.item.width, created.item.height) == (600, 800)


async def test_media_type_comes_from_bytes_not_name(runtime: Runtime) -> None:
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    created = await runtime.service.add_upload(chunks_of(html), filename="cat.png")
    assert created.item.kind == "file"
    assert created.item.media_type == "text/html"


async def test_upload_over_the_limit_is_refused_and_leaves_nothing(runtime: Runtime) -> None:
    service = runtime.service
    with pytest.raises(TooLarge):
        await service.add_upload(chunks_of(b"x" * 5000), max_size=4096)
    assert list(service.stager.tmp_dir.glob("*.part")) == []
    assert await blob_files(runtime) == []


async def test_decompression_bomb_is_refused(runtime: Runtime) -> None:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    with pytest.raises(Unprocessable, match="decompression bomb"):
        await runtime.service.add_upload(chunks_of(out.getvalue()))


async def test_truncated_image_is_refused(runtime: Runtime) -> None:
    data = png_bytes(300, 300)
    with pytest.raises(Unprocessable):
        await runtime.service.add_upload(chunks_of(data[: len(data) // 2]))


# ---- ids and dedup ----------------------------------------------------------------------


async def test_same_bytes_are_stored_once(runtime: Runtime) -> None:
    data = b"shared bytes " * 1000
    first = await runtime.service.add_upload(chunks_of(data))
    second = await runtime.service.add_upload(chunks_of(data))
    assert first.item.content_id != second.item.content_id  # anonymous: separate items
    assert first.item.sha256 == second.item.sha256
    assert await blob_files(runtime) == [first.item.sha256]


async def test_same_content_same_owner_same_id(runtime: Runtime) -> None:
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    first = await runtime.service.add_link(
        "https://example.com/x", options=ItemOptions(owner_id=alice)
    )
    again = await runtime.service.add_link(
        "https://EXAMPLE.com/x", options=ItemOptions(owner_id=alice, max_views=3)
    )
    other = await runtime.service.add_link(
        "https://example.com/x", options=ItemOptions(owner_id=bob)
    )
    assert again.item.content_id == first.item.content_id
    assert len(first.item.content_id) == 7
    assert again.created is False and again.delete_token is None
    assert again.item.max_views is None  # the first add's options stand
    assert other.item.content_id != first.item.content_id


async def test_expired_duplicate_is_renewed_with_new_options(runtime: Runtime) -> None:
    alice = await owner(runtime)
    first = await runtime.service.add_paste(
        "hello", options=ItemOptions(owner_id=alice, max_views=1)
    )
    await runtime.service.resolve(first.item.content_id, visit=Visit())
    again = await runtime.service.add_paste("hello", options=ItemOptions(owner_id=alice))
    assert again.item.content_id == first.item.content_id
    assert again.created and again.delete_token
    assert again.item.max_views is None and again.item.views == 0


async def test_private_items_get_long_ids(runtime: Runtime) -> None:
    created = await runtime.service.add_paste("secret", options=ItemOptions(visibility="private"))
    assert len(created.item.content_id) >= 22


async def test_id_collisions_take_a_longer_id(runtime: Runtime) -> None:
    service = runtime.service
    service.id_length = 1
    alice = await owner(runtime)
    ids = []
    for n in range(150):
        created = await service.add_link(
            f"https://example.com/{n}", options=ItemOptions(owner_id=alice)
        )
        ids.append(created.item.content_id)
    assert len(set(ids)) == 150
    assert max(len(i) for i in ids) >= 2  # 150 items cannot fit in 62 one-character ids
    for n, content_id in enumerate(ids):
        assert (await service.get(content_id)).target == f"https://example.com/{n}"


# ---- expiry, views, passwords -----------------------------------------------------------


async def test_expired_item_is_gone(runtime: Runtime) -> None:
    created = await runtime.service.add_link(
        "https://example.com/", options=ItemOptions(expires_in=timedelta(seconds=1))
    )
    await runtime.db.pool.execute(
        """
        UPDATE refs
        SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 minute'
        """
    )
    with pytest.raises(Gone):
        await runtime.service.resolve(created.item.content_id)


async def test_view_limit_is_exact_under_concurrency(runtime: Runtime) -> None:
    created = await runtime.service.add_paste("once", options=ItemOptions(max_views=3))
    content_id = created.item.content_id

    async def visit() -> bool:
        try:
            await runtime.service.resolve(content_id, visit=Visit())
        except Gone:
            return False
        return True

    results = await asyncio.gather(*(visit() for _ in range(20)))
    assert results.count(True) == 3
    with pytest.raises(Gone):
        await runtime.service.get(content_id)


async def test_visits_without_a_visit_are_not_counted(runtime: Runtime) -> None:
    created = await runtime.service.add_paste("peek", options=ItemOptions(max_views=1))
    for _ in range(3):
        await runtime.service.resolve(created.item.content_id, visit=None)
    assert (await runtime.service.get(created.item.content_id)).views == 0


async def test_batched_visits_add_up_after_flush(runtime: Runtime) -> None:
    created = await runtime.service.add_link("https://example.com/count")
    content_id = created.item.content_id
    for n in range(25):
        await runtime.service.resolve(
            content_id, visit=Visit(referrer="a.example" if n % 2 else "")
        )
    assert (await runtime.service.get(content_id)).views == 0  # not yet flushed
    await runtime.service.counter.flush(runtime.db.pool)
    assert (await runtime.service.get(content_id)).views == 25
    rows = await runtime.db.pool.fetch(
        "SELECT referrer, count FROM visits WHERE content_id = $1 ORDER BY referrer", content_id
    )
    assert [(r["referrer"], r["count"]) for r in rows] == [("", 13), ("a.example", 12)]


async def test_password_protected_item(runtime: Runtime) -> None:
    created = await runtime.service.add_paste("hidden", options=ItemOptions(password="hunter2"))
    content_id = created.item.content_id
    with pytest.raises(PasswordRequired):
        await runtime.service.resolve(content_id)
    with pytest.raises(PasswordRequired, match="wrong"):
        await runtime.service.resolve(content_id, password="nope")
    item = await runtime.service.resolve(content_id, password="hunter2")
    assert item.has_password
    stored = await runtime.db.pool.fetchval("SELECT password_hash FROM refs")
    assert "hunter2" not in stored and stored.startswith("scrypt$")


# ---- delete and sweep -------------------------------------------------------------------


async def test_delete_permissions(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    created = await service.add_paste("mine", options=ItemOptions(owner_id=alice, guild_id=77))
    content_id = created.item.content_id
    for attempt in (
        {"owner_id": bob},
        {"delete_token": "wrong-token"},
        {"moderated_guild_id": 78},
        {},
    ):
        with pytest.raises(NotFound, match="not yours"):
            await service.delete(content_id, **attempt)
    with pytest.raises(NotFound, match="not yours"):
        await service.delete("no-such-id", owner_id=alice)
    await service.delete(content_id, delete_token=created.delete_token)
    with pytest.raises(NotFound):
        await service.get(content_id)
    second = await service.add_paste("again", options=ItemOptions(owner_id=alice, guild_id=77))
    await service.delete(second.item.content_id, moderated_guild_id=77)
    third = await service.add_paste("third", options=ItemOptions(owner_id=alice))
    await service.delete(third.item.content_id, owner_id=alice)
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


async def test_sweep_removes_exactly_what_it_should(runtime: Runtime) -> None:
    service = runtime.service
    service.blob_grace = timedelta(0)
    keep = await service.add_upload(chunks_of(b"keep me" * 100))
    expiring = await service.add_upload(
        chunks_of(b"expire me" * 100), options=ItemOptions(expires_in=timedelta(hours=1))
    )
    deleted = await service.add_upload(chunks_of(b"delete me" * 100))
    shared = await service.add_upload(chunks_of(b"keep me" * 100), options=ItemOptions(max_views=1))
    await service.resolve(shared.item.content_id, visit=Visit())  # used up, blob still kept
    await service.delete(deleted.item.content_id, admin=True)
    await runtime.db.pool.execute(
        """
        UPDATE refs
        SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
        WHERE content_id = $1
        """,
        expiring.item.content_id,
    )
    stale = service.stager.tmp_dir / "abandoned.part"
    stale.write_bytes(b"half an upload")
    os.utime(stale, (0, 0))
    report = await service.sweep()
    assert report.expired == 2
    assert report.blobs_removed == 2
    assert report.temp_files_removed == 1
    assert await blob_files(runtime) == [keep.item.sha256]
    assert (await service.get(keep.item.content_id)).content_id == keep.item.content_id
    assert not stale.exists()
    assert (await service.sweep()).blobs_removed == 0


async def test_a_reupload_repairs_a_damaged_blob(runtime: Runtime) -> None:
    data = b"precious" * 1000
    first = await runtime.service.add_upload(chunks_of(data))
    path = runtime.store.local_path(first.item.sha256)
    path.write_bytes(b"bit rot")
    await runtime.service.add_upload(chunks_of(data))
    assert path.read_bytes() == data


def test_filenames_are_cleaned() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Windows\\evil.exe") == "evil.exe"
    assert clean_filename("a\x00b\u202ecod.exe") == "abcod.exe"
    assert clean_filename("/") is None
    long = clean_filename("x" * 1000 + ".txt")
    assert len(long) == 255 and long.endswith(".txt")


async def test_settings_limits_apply(runtime: Runtime) -> None:
    limited = dataclasses.replace(
        runtime.settings, limits=dataclasses.replace(runtime.settings.limits, paste=10)
    )
    runtime.service.settings = limited
    with pytest.raises(TooLarge):
        await runtime.service.add_paste("x" * 11)


async def test_stats_are_for_the_owner_only(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    created = await service.add_link("https://example.com/s", options=ItemOptions(owner_id=alice))
    content_id = created.item.content_id
    for referrer in ("a.example", "a.example", "b.example", ""):
        await service.resolve(content_id, visit=Visit(referrer=referrer))
    await service.counter.flush(runtime.db.pool)
    stats = await service.stats(content_id, owner_id=alice)
    assert stats.views == 4
    assert [count for _, count in stats.per_day] == [4]
    assert stats.referrers[0] == ("a.example", 2)
    for intruder in (bob, None):
        with pytest.raises(NotFound, match="not yours"):
            await service.stats(content_id, owner_id=intruder)


async def test_image_work_is_bounded_in_time_and_recovers(runtime: Runtime) -> None:
    service = runtime.service
    service.images.timeout = 0.05
    big = jpeg_bytes(6000, 4000)
    with pytest.raises(Unprocessable, match="too long"):
        await service.add_upload(chunks_of(big))
    service.images.timeout = 30
    created = await service.add_upload(chunks_of(png_bytes(20, 10)))
    assert (created.item.width, created.item.height) == (20, 10)


async def test_image_work_is_bounded_in_memory(runtime: Runtime) -> None:
    service = runtime.service
    service.images.close()
    # 147 MB once decoded: more than the limit on its own, whatever the thumbnail does next (the
    # worker's interpreter takes another 40-odd MB of address space before any image).
    service.images.memory_limit = 150 * 1024 * 1024
    out = io.BytesIO()
    Image.new("RGB", (7000, 7000), (1, 2, 3)).save(out, "PNG")
    with pytest.raises(Unprocessable, match="memory"):
        await service.add_upload(chunks_of(out.getvalue()))
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


def photo_with_location(fmt: str) -> bytes:
    image = Image.new("RGB", (64, 48), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: kept
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_location_metadata_is_removed_from_what_is_served(runtime: Runtime, fmt) -> None:
    data = photo_with_location(fmt)
    created = await runtime.service.add_upload(chunks_of(data), filename=f"photo.{fmt.lower()}")
    served = await read_all(runtime.service, created.item.sha256)
    assert served != data
    assert created.item.sha256 == hashlib.sha256(served).hexdigest()
    with Image.open(io.BytesIO(served)) as image:
        image.load()
        exif = image.getexif()
        assert 0x8825 not in exif
        assert exif.get(0x0112) == 6 and exif.get(0x010F) == "PhoneMaker"
        assert image.size == (64, 48)
    assert (created.item.width, created.item.height) == (48, 64)  # turned by the orientation
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []
    plain = png_bytes(30, 20)
    kept = await runtime.service.add_upload(chunks_of(plain))
    assert await read_all(runtime.service, kept.item.sha256) == plain  # nothing to remove
