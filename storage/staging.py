"""Staging: a stream written to a local temporary file, hashed and size-checked on the way."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterable
from functools import partial
from pathlib import Path

from storage.base import BlobTooLarge, StagedBlob, StorageFull

HEAD_SIZE = 8192
# Chunks are gathered to this size and handed to a worker thread, which hashes and writes them:
# few thread hops per upload, and neither hashing nor writing runs on the event loop.
BATCH_SIZE = 1 << 20
TEMP_SUFFIX = ".part"


class Stager:
    """Writes streams to temporary files under one folder; the sweep removes abandoned ones."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)

    async def stage(self, chunks: AsyncIterable[bytes], max_size: int | None = None) -> StagedBlob:
        """Write a stream to a temporary file, fsynced; BlobTooLarge past max_size."""
        path = self.tmp_dir / f"{uuid.uuid4().hex}{TEMP_SUFFIX}"
        loop = asyncio.get_running_loop()
        digest = hashlib.sha256()
        fd = await loop.run_in_executor(None, _open_exclusive, path)
        size = 0
        head = b""
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(max_size)
                if len(head) < HEAD_SIZE:
                    head += chunk[: HEAD_SIZE - len(head)]
                batch.append(chunk)
                batched += len(chunk)
                if batched >= BATCH_SIZE:
                    await loop.run_in_executor(None, _hash_and_write, fd, digest, batch)
                    batch, batched = [], 0
            await loop.run_in_executor(None, _hash_and_write, fd, digest, batch)
            await loop.run_in_executor(None, os.fsync, fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise
        os.close(fd)
        return StagedBlob(path=path, sha256=digest.hexdigest(), size=size, head=head)

    async def stage_bytes(self, data: bytes) -> StagedBlob:
        """Stage bytes already in memory (pastes, thumbnails)."""

        async def one() -> AsyncIterable[bytes]:
            yield data

        return await self.stage(one())

    async def stage_file(self, path: Path) -> StagedBlob:
        """Stage a local file (removed afterwards), as if it had been streamed in."""
        loop = asyncio.get_running_loop()

        async def chunks() -> AsyncIterable[bytes]:
            handle = await loop.run_in_executor(None, path.open, "rb")
            with handle:
                while chunk := await loop.run_in_executor(None, handle.read, BATCH_SIZE):
                    yield chunk

        try:
            return await self.stage(chunks())
        finally:
            await loop.run_in_executor(None, partial(path.unlink, missing_ok=True))

    async def discard(self, staged: StagedBlob) -> None:
        """Remove a staged file if it is still there (after a commit it usually is not)."""
        with contextlib.suppress(FileNotFoundError):
            staged.path.unlink()

    def sweep(self, older_than: float) -> int:
        """Remove temporary files older than `older_than` seconds; returns how many."""
        cutoff = time.time() - older_than
        removed = 0
        for entry in self.tmp_dir.glob(f"*{TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed


def _open_exclusive(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _hash_and_write(fd: int, digest: hashlib._Hash, batch: list[bytes]) -> None:
    for chunk in batch:
        digest.update(chunk)
        view = memoryview(chunk)
        while view:
            try:
                written = os.write(fd, view)
            except OSError as exc:
                if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                    raise StorageFull(str(exc)) from exc
                raise
            view = view[written:]
