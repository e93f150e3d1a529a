"""The blobs as a whole: their totals, and copying every blob the database lists to another
store (`refbin storage copy`), each verified by sha256.

The database's `blobs` table is the list, not a listing of the store: it is the source of truth
for what must exist. A copy is resumable and idempotent, because a blob the target already holds
is skipped; a rerun copies only what is new or was left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db import Database
from bot.db import blobs as blobs_sql
from bot.errors import Unavailable
from bot.service.core import store_failure
from storage import BlobStore, Stager
from storage.copy import CopyOutcome, CopyReport, copy_blobs

PAGE_SIZE = 1000

# Told (blobs done, blobs in the database when the copy began) after each blob.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StoreCopy:
    """The outcome of copying the database's blobs: the counts, and who uses the bad blobs."""

    blobs: int
    size: int
    report: CopyReport
    users: Mapping[str, tuple[str, ...]]  # problem blob -> ids of the items that use it

    @property
    def losses(self) -> tuple[str, ...]:
        """Problem blobs some item uses (an unused one is only waiting for the sweep)."""
        report = self.report
        problems = (*report.missing_keys, *report.corrupt_keys, *report.failed_keys)
        return tuple(sha for sha in problems if self.users.get(sha))


async def blob_totals(db: Database) -> tuple[int, int]:
    """How many blobs are stored, and their total size in bytes (each blob once)."""
    row = await blobs_sql.blob_totals(db.read_pool)
    return row["blobs"], row["bytes"]


async def copy_every_blob(
    db: Database,
    source: BlobStore,
    target: BlobStore,
    stager: Stager,
    *,
    jobs: int = 4,
    verify_existing: bool = False,
    progress: Progress | None = None,
) -> StoreCopy:
    """Copy every blob of the `blobs` table from source to target, each verified by sha256.

    Blobs written while the copy runs are picked up by a second pass over those touched since
    it began; blobs missing at first are tried once more at the end (an upload in flight has
    its row before its bytes). A store that fails stops the copy with Unavailable; what was
    copied stays copied.
    """
    totals = await blobs_sql.blob_totals(db.pool)  # the primary: a replica may lag
    started, total = totals["at"], totals["blobs"]

    async def keys() -> AsyncIterator[str]:
        async for sha256 in _database_blob_keys(db):
            yield sha256
        async for sha256 in _database_blob_keys(db, touched_since=started):
            yield sha256

    done = 0

    def one_done(_sha256: str, _outcome: CopyOutcome) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    options: dict[str, Any] = {"concurrency": jobs, "verify_existing": verify_existing}
    try:
        first = await copy_blobs(source, target, keys(), stager, progress=one_done, **options)
        report = first
        if first.missing_keys:
            again = await copy_blobs(source, target, first.missing_keys, stager, **options)
            report = _after_retry(first, again)
    except Exception as error:
        failure = store_failure(error)
        if failure is None:
            raise
        raise Unavailable(
            f"{failure} (what was copied so far stays copied; run again to continue)"
        ) from None
    problems = [*report.missing_keys, *report.corrupt_keys, *report.failed_keys]
    users: dict[str, list[str]] = {}
    if problems:
        for row in await blobs_sql.items_using_blobs(db.pool, problems):
            users.setdefault(row["sha256"], []).append(row["content_id"])
    return StoreCopy(
        blobs=total,
        size=totals["bytes"],
        report=report,
        users={sha: tuple(ids) for sha, ids in users.items()},
    )


async def _database_blob_keys(
    db: Database, touched_since: datetime | None = None
) -> AsyncIterator[str]:
    """Every blob key in the database (from the primary), page by page."""
    after = ""
    while True:
        page = await blobs_sql.blob_keys_after(db.pool, after, PAGE_SIZE, touched_since)
        for sha256 in page:
            yield sha256
        if len(page) < PAGE_SIZE:
            return
        after = page[-1]


def _after_retry(first: CopyReport, again: CopyReport) -> CopyReport:
    """The first run's report with its missing blobs replaced by what the retry found."""
    return CopyReport(
        copied=first.copied + again.copied,
        skipped=first.skipped + again.skipped,
        corrupt=first.corrupt + again.corrupt,
        missing=again.missing,
        corrupt_keys=tuple(sorted((*first.corrupt_keys, *again.corrupt_keys))),
        missing_keys=again.missing_keys,
        failed=first.failed + again.failed,
        failed_keys=tuple(sorted((*first.failed_keys, *again.failed_keys))),
    )
