"""Gateway transport compression, one encoder per connection, as the `compress` query asks."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class UnsupportedCompression(Exception):
    """The client asked for a compression the stand-in cannot produce here."""


class GatewayEncoder(Protocol):
    binary: bool

    def encode(self, text: str) -> list[bytes] | str:
        """A text frame, or the binary frames that carry one gateway message."""
        ...


class Uncompressed:
    """No `compress` query: each payload is one JSON text frame."""

    binary = False

    def encode(self, text: str) -> str:
        return text


class ZlibStream:
    """zlib-stream: one deflate context for the connection; each message ends in a sync flush.

    With `frame_size` the compressed message is split over several websocket frames, as
    Discord may do; only the last one ends with 00 00 ff ff.
    """

    binary = True

    def __init__(self, frame_size: int | None = None) -> None:
        self._context = zlib.compressobj()
        self._frame_size = frame_size

    def encode(self, text: str) -> list[bytes]:
        data = self._context.compress(text.encode()) + self._context.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(ZLIB_SUFFIX)
        if not self._frame_size:
            return [data]
        body, size = data[: -len(ZLIB_SUFFIX)], self._frame_size
        frames = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        frames[-1] += ZLIB_SUFFIX
        return frames


class ZstdStream:
    """zstd-stream: one zstd stream for the connection; each message is a flushed block.

    discord.py asks for this only when `zstandard` (or Python 3.14's `compression.zstd`) is
    importable, and the stand-in runs in the same interpreter, so the same module is there.
    """

    binary = True

    def __init__(self) -> None:
        self._encode = _zstd_block_encoder()

    def encode(self, text: str) -> list[bytes]:
        return [self._encode(text.encode())]


def _zstd_block_encoder() -> Callable[[bytes], bytes]:
    """Compress-and-flush-a-block with whichever zstd module discord.py found."""
    try:
        import zstandard
    except ImportError:
        pass
    else:
        stream = zstandard.ZstdCompressor().compressobj()
        return lambda data: stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError as exc:
        raise UnsupportedCompression("zstd-stream needs the zstandard module") from exc
    compressor = zstd.ZstdCompressor()
    return lambda data: compressor.compress(data, mode=compressor.FLUSH_BLOCK)


def encoder_for(compress: str | None, *, frame_size: int | None = None) -> GatewayEncoder:
    """The encoder for the gateway URL's `compress` query value."""
    if compress is None:
        return Uncompressed()
    if compress == "zlib-stream":
        return ZlibStream(frame_size)
    if compress == "zstd-stream":
        return ZstdStream()
    raise UnsupportedCompression(f"unknown compress={compress!r}")
