"""`refbin check`'s service half: a healthy instance passes; changed, cut and missing bytes,
and a broken subtype rule, are each found and named with the items they touch."""

from __future__ import annotations

import os

import asyncpg
import pytest

from bot.models import Created
from bot.runtime import Runtime
from bot.service.maintenance import CheckReport, check_instance
from storage.local import LocalBlobStore
from tests.helpers import chunks_of, png_bytes


async def check(runtime: Runtime) -> CheckReport:
    service = runtime.service
    return await check_instance(service.db, service.store, blob_grace=service.blob_grace)


@pytest.fixture
async def items(runtime: Runtime) -> dict[str, Created]:
    service = runtime.service
    return {
        "link": await service.add_link("https://example.com/checked"),
        "paste": await service.add_paste("print('checked')\n", language="python"),
        "file": await service.add_upload(chunks_of(os.urandom(700_000)), filename="a.bin"),
        "image": await service.add_upload(chunks_of(png_bytes()), filename="red.png"),
    }


def local(runtime: Runtime) -> LocalBlobStore:
    assert isinstance(runtime.store, LocalBlobStore)
    return runtime.store


async def test_a_healthy_instance_passes_with_every_blob_read(
    runtime: Runtime, items: dict[str, Created]
) -> None:
    report = await check(runtime)

    assert report.ok
    assert (report.items, report.blobs, report.checked, report.used) == (4, 4, 4, 4)
    assert report.bytes_read > 700_000
    assert report.bad_blobs == () and report.subtype_violations == ()


async def test_changed_cut_and_missing_bytes_are_found_with_their_items(
    runtime: Runtime, items: dict[str, Created]
) -> None:
    file, paste, image = items["file"].item, items["paste"].item, items["image"].item
    assert file.sha256 and paste.sha256 and image.thumb_sha256
    store = local(runtime)
    rotten = bytearray(store.path_for(file.sha256).read_bytes())
    rotten[1000] ^= 0xFF  # one flipped byte: same size, another hash
    store.path_for(file.sha256).write_bytes(bytes(rotten))
    store.path_for(paste.sha256).unlink()
    thumb = store.path_for(image.thumb_sha256)
    thumb.write_bytes(thumb.read_bytes()[:-10])

    report = await check(runtime)

    assert not report.ok
    found = {blob.sha256: (blob.problem, blob.users) for blob in report.bad_blobs}
    assert found == {
        file.sha256: ("wrong sha256", (file.content_id,)),
        paste.sha256: ("missing", (paste.content_id,)),
        image.thumb_sha256: ("wrong size", (image.content_id,)),
    }
    assert dict(report.counts) == {"missing": 1, "wrong size": 1, "wrong sha256": 1}
    assert report.checked == 4


async def test_unused_blobs_are_counted_not_faulted(
    runtime: Runtime, items: dict[str, Created], database_url: str
) -> None:
    await runtime.service.delete(items["file"].item.content_id, admin=True)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE blobs SET touched_at = now() - interval '2 days' WHERE sha256 = $1",
            items["file"].item.sha256,
        )
    finally:
        await conn.close()
    await runtime.service.add_paste("fresh\n")
    fresh = await check(runtime)
    assert items["file"].item.sha256
    local(runtime).path_for(items["file"].item.sha256).unlink()  # as the sweep would
    swept = await check(runtime)

    assert fresh.ok
    assert (fresh.used, fresh.unused_sweepable, fresh.unused_recent) == (4, 1, 0)
    assert swept.ok  # an unused blob without bytes harms no item
    assert [(b.problem, b.users) for b in swept.bad_blobs] == [("missing", ())]


async def test_an_item_without_its_subtype_row_breaks_the_rule(
    runtime: Runtime, items: dict[str, Created], database_url: str
) -> None:
    link = items["link"].item
    conn = await asyncpg.connect(database_url)
    try:  # nothing in refbin does this: the refs row's trigger watches inserts, not this
        await conn.execute("DELETE FROM urls WHERE content_id = $1", link.content_id)
    finally:
        await conn.close()

    report = await check(runtime)

    assert not report.ok
    assert [(v.content_id, v.kind, v.subtype_rows) for v in report.subtype_violations] == [
        (link.content_id, "url", 0)
    ]
