"""LocalBlobStore: blobs as files under a sharded folder tree, renamed into place atomically."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from storage.base import BlobStore, StagedBlob, StorageFull, is_sha256

READ_CHUNK = 256 * 1024
_HEX_DIGITS = frozenset("0123456789abcdef")


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

    async def iter_keys(self) -> AsyncIterator[str]:
        """The sha256 of every blob, in order; temporary files and strays are skipped."""
        loop = asyncio.get_running_loop()
        for first in await loop.run_in_executor(None, _shard_folders, self.root):
            for second in await loop.run_in_executor(None, _shard_folders, first):
                for sha256 in await loop.run_in_executor(None, _blob_names, second):
                    yield sha256


def _shard_folders(folder: Path) -> list[Path]:
    """The two-hex-digit subfolders of a folder, sorted (not `tmp`, not anything else)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return sorted(
        Path(entry.path)
        for entry in entries
        if len(entry.name) == 2 and set(entry.name) <= _HEX_DIGITS and entry.is_dir()
    )


def _blob_names(folder: Path) -> list[str]:
    """The blobs in a leaf folder: files named by a sha256 that belongs in this folder."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    prefix = folder.parent.name + folder.name
    return sorted(
        entry.name
        for entry in entries
        if is_sha256(entry.name) and entry.name.startswith(prefix) and entry.is_file()
    )


def _rename_durably(source: Path, final: Path) -> None:
    """Rename a fsynced temporary file into place and fsync the folder, so the name survives.

    A temporary file on another filesystem (EXDEV: the stager's folder and the store on separate
    mounts) is copied next to its final name first, so the rename stays atomic all the same.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            os.replace(source, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_into_place(source, final)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(str(exc)) from exc
        raise
    _fsync_folder(final.parent)


def _copy_into_place(source: Path, final: Path) -> None:
    """Copy a file across filesystems: to a fsynced neighbour of `final`, renamed over it."""
    incoming = final.with_name(f"{final.name}.incoming-{uuid.uuid4().hex}")
    try:
        with source.open("rb") as reader, incoming.open("xb") as writer:
            shutil.copyfileobj(reader, writer, READ_CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(incoming, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            incoming.unlink()
        raise
    source.unlink()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
