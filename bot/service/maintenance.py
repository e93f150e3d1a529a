"""`refbin check`: every blob row's bytes are in the store with their size and sha256, every blob
row is used by an item or waiting for the sweep, and every item has its one subtype row.

The `blobs` table is the list (as for `refbin storage copy`): every item's bytes and thumbnail
reference a row there (foreign keys), so checking each row checks each item's blob. Bytes are
streamed from the store and hashed in a worker thread, a few blobs at a time, so a check can run
beside a serving refbin without holding its event loop or its database for long.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.db import Database
from bot.db import blobs as blobs_sql
from bot.db import maintenance as sql
from storage import BlobStore

PAGE_SIZE = 500
MAX_LISTED = 1000  # items breaking the subtype rule named in the report

# Told (blobs checked, blob rows when the check began) after each blob.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BadBlob:
    """A blob whose bytes are missing or wrong in the store, and the items that use it."""

    sha256: str
    problem: str  # "missing", "wrong size" or "wrong sha256"
    expected_size: int
    found_size: int | None
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubtypeViolation:
    """A refs row without exactly one subtype row of its own kind."""

    content_id: str
    kind: str
    subtype_rows: int


@dataclass(frozen=True)
class CheckReport:
    """What `refbin check` found."""

    items: int
    blobs: int
    checked: int
    bytes_read: int
    used: int
    unused_sweepable: int  # no item uses them and they are older than the sweep's grace
    unused_recent: int  # no item uses them yet: an upload in flight, or one the sweep will take
    bad_blobs: tuple[BadBlob, ...] = ()
    subtype_violations: tuple[SubtypeViolation, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)  # problem -> how many

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong. A blob no item uses is not wrong even when its bytes are
        missing or bad: it is an upload in flight (its row comes first) or the sweep's to take."""
        return not any(blob.users for blob in self.bad_blobs) and not self.subtype_violations


async def check_instance(
    db: Database,
    store: BlobStore,
    *,
    blob_grace: timedelta,
    jobs: int = 4,
    progress: Progress | None = None,
) -> CheckReport:
    """Check every blob row against the store and every item against the subtype rule."""
    totals = await sql.item_and_blob_counts(db.pool)  # the primary: a replica may lag
    sweepable_before: datetime = totals["at"] - blob_grace
    slots = asyncio.Semaphore(max(1, jobs))
    bad: list[BadBlob] = []
    checked = bytes_read = used = sweepable = recent = 0

    async def one(sha256: str, size: int) -> None:
        nonlocal checked, bytes_read
        async with slots:
            found = await _size_and_hash(store, sha256)
        checked += 1
        if found is None:
            bad.append(BadBlob(sha256, "missing", size, None))
        else:
            found_size, digest = found
            bytes_read += found_size
            if found_size != size:
                bad.append(BadBlob(sha256, "wrong size", size, found_size))
            elif digest != sha256:
                bad.append(BadBlob(sha256, "wrong sha256", size, found_size))
        if progress is not None:
            progress(checked, totals["blobs"])

    after = ""
    while True:
        page = await sql.blob_rows_after(db.pool, after, PAGE_SIZE)
        for row in page:
            if row["used"]:
                used += 1
            elif row["touched_at"] < sweepable_before:
                sweepable += 1
            else:
                recent += 1
        async with asyncio.TaskGroup() as group:
            for row in page:
                group.create_task(one(row["sha256"], row["size"]))
        if len(page) < PAGE_SIZE:
            break
        after = page[-1]["sha256"]

    violations = [
        SubtypeViolation(row["content_id"], row["kind"], row["found"])
        for row in await sql.subtype_violations(db.pool, MAX_LISTED)
    ]
    bad.sort(key=lambda blob: blob.sha256)
    return CheckReport(
        items=totals["items"],
        blobs=totals["blobs"],
        checked=checked,
        bytes_read=bytes_read,
        used=used,
        unused_sweepable=sweepable,
        unused_recent=recent,
        bad_blobs=tuple(await _with_users(db, bad)),
        subtype_violations=tuple(violations),
        counts={
            "missing": sum(blob.problem == "missing" for blob in bad),
            "wrong size": sum(blob.problem == "wrong size" for blob in bad),
            "wrong sha256": sum(blob.problem == "wrong sha256" for blob in bad),
        },
    )


async def _size_and_hash(store: BlobStore, sha256: str) -> tuple[int, str] | None:
    """The size and sha256 of the bytes the store holds under a key; None when it has none."""
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in store.open(sha256):
            size += len(chunk)
            # hashlib releases the GIL on large buffers: hash beside the event loop, not on it.
            await asyncio.to_thread(digest.update, chunk)
    except FileNotFoundError:
        return None
    return size, digest.hexdigest()


async def _with_users(db: Database, bad: list[BadBlob]) -> list[BadBlob]:
    if not bad:
        return bad
    users: dict[str, list[str]] = {}
    for row in await blobs_sql.items_using_blobs(db.pool, [blob.sha256 for blob in bad]):
        users.setdefault(row["sha256"], []).append(row["content_id"])
    return [
        BadBlob(b.sha256, b.problem, b.expected_size, b.found_size, tuple(users.get(b.sha256, ())))
        for b in bad
    ]
