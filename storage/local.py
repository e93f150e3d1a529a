"""LocalBlobStore: blobs as files under a sharded folder tree, renamed into place atomically."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

from storage.base import BlobStore, StagedBlob, StorageFull, is_sha256

READ_CHUNK = 256 * 1024


class LocalBlobStore(BlobStore):
    """Blob `ab12…` lives at `<root>/ab/12/ab12…`; a reader never sees a partial file."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        """The final path of a blob; refuses anything but a sha256, so no key escapes the root."""
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256 key: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def local_path(self, sha256: str) -> Path | None:
        return self.path_for(sha256)

    async def commit(self, staged: StagedBlob) -> None:
        final = self.path_for(staged.sha256)
        await asyncio.get_running_loop().run_in_executor(None, _rename_durably, staged.path, final)

    async def open(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.path_for(sha256)
        loop = asyncio.get_running_loop()
        handle = await loop.run_in_executor(None, path.open, "rb")
        try:
            handle.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await loop.run_in_executor(None, handle.read, want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, sha256: str) -> None:
        path = self.path_for(sha256)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.get_running_loop().run_in_executor(None, path.unlink)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.path_for(sha256).is_file)


def _rename_durably(source: Path, final: Path) -> None:
    """Rename a fsynced temporary file into place and fsync the folder, so the name survives."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, final)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StorageFull(str(exc)) from exc
        raise
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
