"""Staging: a stream written to a local temporary file, hashed and size-checked on the way.

The event loop gathers the stream's chunks into batches and a worker thread hashes and writes
them, in order, while the loop gathers the next (hashlib and writes release the GIL). Each batch
is handed to the disk as soon as it is written (sync_file_range, which does not wait), so the
fsync at the end waits for the last batch, not for the whole file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

from storage.base import BlobTooLarge, StagedBlob, StorageFull

HEAD_SIZE = 8192
# A batch goes to the worker once it holds MIN_BATCH bytes if the worker is free; while the
# worker is busy the next batch grows, up to MAX_BATCH (then the loop waits for the worker):
# few thread hops when the disk or the hash is the bound, and at most two batches in memory.
MIN_BATCH = 1 << 20
MAX_BATCH = 4 << 20
BATCH_SIZE = MIN_BATCH  # what stage_file reads at a time
# Within a batch, chunks are hashed and then written in groups of about this size, so the bytes
# the hash has just read are still in the CPU's cache when writev() copies them.
WRITE_GROUP = 256 << 10
IOV_MAX = 1024  # buffers in one writev() on Linux
TEMP_SUFFIX = ".part"

# The stager's own threads: a batch's future must be waited for (or handed the cleanup) before
# its file descriptor is closed, which the loop's run_in_executor does not allow (a cancelled
# await there forgets the thread that is still writing).
_WORKERS = ThreadPoolExecutor(thread_name_prefix="refbin-staging")

# A chunk of a stream: bytes, or any buffer of bytes (the multipart reader hands on views).
Chunk = bytes | bytearray | memoryview


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range(2), which Python's os module does not offer; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()
SYNC_FILE_RANGE_WRITE = 2  # start writing the range's dirty pages out; do not wait
WRITEBACK_ALIGN = 64 << 10  # a multiple of any page size


class _Sink:
    """A temporary file and the hash of what was written to it, batch after batch, in order
    (one batch at a time, always on a worker thread)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.digest = hashlib.sha256()
        self.written = 0
        self.flushing = 0  # the disk was asked to start on the file up to here

    def write(self, batch: list[Chunk]) -> None:
        """Hash and write a batch: each group of chunks is hashed, then written while its
        bytes are still in the cache; then the disk is asked to start on it."""
        group: list[Chunk] = []
        grouped = 0
        for chunk in batch:
            self.digest.update(chunk)
            group.append(chunk)
            grouped += len(chunk)
            if grouped >= WRITE_GROUP or len(group) >= IOV_MAX:
                self._write_all(group)
                group, grouped = [], 0
        if group:
            self._write_all(group)
        # Whole pages only: the last, partly written page is left to the next batch, whose
        # write would otherwise wait for that page's writeback to end.
        upto = self.written - self.written % WRITEBACK_ALIGN
        if _SYNC_FILE_RANGE is not None and upto > self.flushing:
            # Advisory: on failure, the fsync at the end does all the writing.
            _SYNC_FILE_RANGE(self.fd, self.flushing, upto - self.flushing, SYNC_FILE_RANGE_WRITE)
            self.flushing = upto

    def finish(self, batch: list[Chunk]) -> None:
        self.write(batch)
        os.fsync(self.fd)

    def _write_all(self, buffers: list[Chunk]) -> None:
        """writev() until every buffer is written; StorageFull when the disk or quota is full."""
        views = [memoryview(buffer) for buffer in buffers]
        while views:
            try:
                written = os.writev(self.fd, views)
            except OSError as exc:
                if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                    raise StorageFull(str(exc)) from exc
                raise
            self.written += written
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if views and written:
                views[0] = views[0][written:]


class Stager:
    """Writes streams to temporary files under one folder; the sweep removes abandoned ones."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)

    async def stage(self, chunks: AsyncIterable[Chunk], max_size: int | None = None) -> StagedBlob:
        """Write a stream to a temporary file, fsynced; BlobTooLarge past max_size."""
        path = self.tmp_dir / f"{uuid.uuid4().hex}{TEMP_SUFFIX}"
        sink = _Sink(await _open_in_worker(path))
        size = 0
        head = b""
        batch: list[Chunk] = []
        batched = 0
        pending: Future[None] | None = None  # the batch the worker is hashing and writing
        try:
            async for chunk in chunks:
                length = len(chunk)
                if not length:
                    continue
                size += length
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(max_size)
                if len(head) < HEAD_SIZE:
                    head += bytes(chunk[: HEAD_SIZE - len(head)])
                batch.append(chunk)
                batched += length
                if batched >= MAX_BATCH or (
                    batched >= MIN_BATCH and (pending is None or pending.done())
                ):
                    if pending is not None:
                        await asyncio.wrap_future(pending)
                    pending = _WORKERS.submit(sink.write, batch)
                    batch, batched = [], 0
            if pending is not None:
                await asyncio.wrap_future(pending)
            pending = _WORKERS.submit(sink.finish, batch)
            await asyncio.wrap_future(pending)
        except BaseException as exc:
            try:
                if pending is not None and not isinstance(exc, asyncio.CancelledError):
                    # Let the batch in flight finish: the file is gone before the error is
                    # answered.
                    await asyncio.wait([asyncio.wrap_future(pending)])
            finally:
                # If the wait was cancelled, the worker may still be writing to the file (a
                # cancelled await does not stop a thread): it is closed and removed once the
                # worker is done, never under it.
                if pending is None or pending.done():
                    _close_and_remove(sink.fd, path)
                else:
                    pending.add_done_callback(lambda _: _close_and_remove(sink.fd, path))
            raise
        os.close(sink.fd)
        return StagedBlob(path=path, sha256=sink.digest.hexdigest(), size=size, head=head)

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


async def _open_in_worker(path: Path) -> int:
    """Create the temporary file on a worker thread; if the caller is cancelled meanwhile,
    the file is closed and removed once it is open."""
    future = _WORKERS.submit(_open_exclusive, path)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        future.add_done_callback(partial(_close_opened, path))
        raise


def _open_exclusive(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _close_opened(path: Path, future: Future[int]) -> None:
    if not future.cancelled() and future.exception() is None:
        _close_and_remove(future.result(), path)


def _close_and_remove(fd: int, path: Path) -> None:
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
