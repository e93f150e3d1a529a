"""Copying blobs between stores, verified by sha256; a rerun resumes where the last one stopped."""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable
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


@dataclass(frozen=True)
class CopyReport:
    """Counts of a copy run, with the keys that need a person's attention."""

    copied: int
    skipped: int
    corrupt: int
    missing: int
    corrupt_keys: tuple[str, ...] = ()
    missing_keys: tuple[str, ...] = ()


class _SourceMissing(Exception):
    """The source has no such blob (told apart from a FileNotFoundError of the stager)."""


async def copy_blob(
    source: BlobStore, target: BlobStore, sha256: str, stager: Stager
) -> CopyOutcome:
    """Copy one blob unless the target has it; bytes that do not hash to the key are not copied."""
    if await target.exists(sha256):
        return CopyOutcome.SKIPPED
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
    return CopyOutcome.COPIED


async def copy_blobs(
    source: BlobStore,
    target: BlobStore,
    shas: Iterable[str] | AsyncIterable[str],
    stager: Stager,
) -> CopyReport:
    """Copy every listed blob the target lacks, one at a time, and count what happened."""
    counts = dict.fromkeys(CopyOutcome, 0)
    problems: dict[CopyOutcome, list[str]] = {CopyOutcome.CORRUPT: [], CopyOutcome.MISSING: []}
    async for sha256 in _each(shas):
        outcome = await copy_blob(source, target, sha256, stager)
        counts[outcome] += 1
        if outcome in problems:
            problems[outcome].append(sha256)
    return CopyReport(
        copied=counts[CopyOutcome.COPIED],
        skipped=counts[CopyOutcome.SKIPPED],
        corrupt=counts[CopyOutcome.CORRUPT],
        missing=counts[CopyOutcome.MISSING],
        corrupt_keys=tuple(problems[CopyOutcome.CORRUPT]),
        missing_keys=tuple(problems[CopyOutcome.MISSING]),
    )


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
