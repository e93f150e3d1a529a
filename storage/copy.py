"""Copying blobs between stores, verified by sha256; a rerun resumes where the last one stopped."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass

from storage.base import BlobStore
from storage.staging import Stager

log = logging.getLogger(__name__)


class CopyOutcome(enum.StrEnum):
    """What happened to one blob."""

    COPIED = "copied"
    SKIPPED = "skipped"  # the target already holds it
    CORRUPT = "corrupt"  # the source's bytes do not hash to the key: not copied
    MISSING = "missing"  # the source does not hold it
    FAILED = "failed"  # written, but the target's copy did not read back with the right hash


@dataclass(frozen=True)
class CopyReport:
    """Counts of a copy run, with the keys that need a person's attention."""

    copied: int
    skipped: int
    corrupt: int
    missing: int
    corrupt_keys: tuple[str, ...] = ()
    missing_keys: tuple[str, ...] = ()
    failed: int = 0
    failed_keys: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether the target now holds every listed blob, verified."""
        return not (self.corrupt or self.missing or self.failed)


class _SourceMissing(Exception):
    """The source has no such blob (told apart from a FileNotFoundError of the stager)."""


async def copy_blob(
    source: BlobStore,
    target: BlobStore,
    sha256: str,
    stager: Stager,
    *,
    verify: bool = True,
    verify_existing: bool = False,
) -> CopyOutcome:
    """Copy one blob unless the target has it; bytes that do not hash to the key are not copied.

    With `verify`, a copied blob is read back from the target and hashed; with
    `verify_existing`, a blob the target already holds is hashed too, and copied again if bad.
    """
    if await target.exists(sha256):
        if not verify_existing or await hash_of(target, sha256) == sha256:
            return CopyOutcome.SKIPPED
        log.warning("blob %s in %s is damaged; copying it again", sha256, target.name)
    try:
        async with aclosing(_read_source(source, sha256)) as chunks:
            staged = await stager.stage(chunks)
    except _SourceMissing:
        return CopyOutcome.MISSING
    try:
        if staged.sha256 != sha256:
            log.warning(
                "blob %s in %s is corrupt: its bytes hash to %s", sha256, source.name, staged.sha256
            )
            return CopyOutcome.CORRUPT
        await target.commit(staged)
    finally:
        await stager.discard(staged)
    if verify and await hash_of(target, sha256) != sha256:
        log.error("blob %s did not read back from %s with its hash", sha256, target.name)
        return CopyOutcome.FAILED
    return CopyOutcome.COPIED


async def copy_blobs(
    source: BlobStore,
    target: BlobStore,
    shas: Iterable[str] | AsyncIterable[str],
    stager: Stager,
    *,
    concurrency: int = 1,
    verify: bool = True,
    verify_existing: bool = False,
    progress: Callable[[str, CopyOutcome], None] | None = None,
) -> CopyReport:
    """Copy every listed blob the target lacks, `concurrency` at a time, and count what happened.

    An error of either store (not a missing or corrupt blob: those are counted) stops the run;
    what was copied stays copied, so running it again continues where it stopped.
    """
    outcomes: dict[str, CopyOutcome] = {}
    seen: set[str] = set()
    slots = asyncio.Semaphore(max(1, concurrency))

    async def one(sha256: str) -> None:
        try:
            outcome = await copy_blob(
                source, target, sha256, stager, verify=verify, verify_existing=verify_existing
            )
        finally:
            slots.release()
        outcomes[sha256] = outcome
        if progress is not None:
            progress(sha256, outcome)

    try:
        async with asyncio.TaskGroup() as group:
            async for sha256 in _each(shas):
                if sha256 in seen:
                    continue
                seen.add(sha256)
                await slots.acquire()
                group.create_task(one(sha256))
    except BaseExceptionGroup as group_error:
        # One store error is the story; the others are the cancellations it caused.
        raise group_error.exceptions[0] from None
    return _report(outcomes)


def _report(outcomes: dict[str, CopyOutcome]) -> CopyReport:
    def keys(outcome: CopyOutcome) -> tuple[str, ...]:
        return tuple(sorted(sha for sha, seen in outcomes.items() if seen is outcome))

    counts = {outcome: 0 for outcome in CopyOutcome}
    for outcome in outcomes.values():
        counts[outcome] += 1
    return CopyReport(
        copied=counts[CopyOutcome.COPIED],
        skipped=counts[CopyOutcome.SKIPPED],
        corrupt=counts[CopyOutcome.CORRUPT],
        missing=counts[CopyOutcome.MISSING],
        corrupt_keys=keys(CopyOutcome.CORRUPT),
        missing_keys=keys(CopyOutcome.MISSING),
        failed=counts[CopyOutcome.FAILED],
        failed_keys=keys(CopyOutcome.FAILED),
    )


async def hash_of(store: BlobStore, sha256: str) -> str | None:
    """The sha256 of the bytes a store holds under a key, or None when it holds none."""
    digest = hashlib.sha256()
    try:
        async for chunk in store.open(sha256):
            # hashlib releases the GIL on large buffers: hash beside the event loop, not on it.
            await asyncio.to_thread(digest.update, chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


async def _read_source(source: BlobStore, sha256: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in source.open(sha256):
            yield chunk
    except FileNotFoundError as exc:
        raise _SourceMissing(sha256) from exc


async def _each(shas: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(shas, AsyncIterable):
        async for sha256 in shas:
            yield sha256
    else:
        for sha256 in shas:
            yield sha256
