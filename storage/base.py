"""The blob store interface: bytes in, sha256 out; bytes back by sha256, with a range."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


class BlobTooLarge(Exception):
    """A stream went past the size limit while it was being staged."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the limit of {limit} bytes")
        self.limit = limit


class StorageFull(Exception):
    """The storage backend has no room left (ENOSPC or a quota)."""


@dataclass(frozen=True)
class StagedBlob:
    """Bytes written to a local temporary file and hashed, not yet in the store."""

    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for sniffing the media type


def is_sha256(value: str) -> bool:
    """True when value is 64 lower-case hex digits: the only keys a store accepts."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class BlobStore(abc.ABC):
    """Content-addressed storage. Every key is the sha256 of the bytes, in hex."""

    name: str

    @abc.abstractmethod
    async def commit(self, staged: StagedBlob) -> None:
        """Move a staged blob into the store. Idempotent; replaces a damaged copy."""

    @abc.abstractmethod
    def open(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream the bytes [start, end) of a blob; FileNotFoundError if it is absent."""

    @abc.abstractmethod
    async def delete(self, sha256: str) -> None:
        """Remove a blob; removing an absent blob is not an error."""

    @abc.abstractmethod
    async def exists(self, sha256: str) -> bool:
        """Whether the store holds the blob."""

    def local_path(self, sha256: str) -> Path | None:
        """A filesystem path to the blob when the store has one (for sendfile)."""
        return None

    async def download_url(self, sha256: str, *, disposition: str, media_type: str) -> str | None:
        """A URL that serves the blob without refbin, when the store offers one, answering with
        these Content-Disposition and Content-Type values."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections held by the store."""
