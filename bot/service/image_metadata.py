"""Location metadata taken out of images without re-encoding them.

Phones write where a photo was taken into its EXIF (the GPS directory) and XMP. refbin serves
what people upload to strangers, so it removes both before storing, and keeps the rest (the
orientation in particular). JPEG, PNG and WebP are rewritten at the container level: the pixels
are untouched. Blocking: call it in the image worker.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

GPS_IFD = 0x8825
XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_PNG = b"XML:com.adobe.xmp\x00"


def strip_location(data: bytes) -> bytes | None:
    """The image without GPS EXIF and XMP, or None when there was nothing to remove.

    Nothing is copied when there is nothing to remove: most uploads carry no location, and a
    photo is megabytes.
    """
    if data[:3] == b"\xff\xd8\xff":
        cleaned = _strip_jpeg(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        cleaned = _strip_png(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        cleaned = _strip_webp(data)
    else:
        return None
    return None if cleaned is None or cleaned == data else cleaned


def _splice(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes | None:
    """data with each (start, end) range replaced, in order; None when there are no edits."""
    if not edits:
        return None
    out = io.BytesIO()
    position = 0
    for start, end, replacement in edits:
        out.write(data[position:start])
        out.write(replacement)
        position = end
    out.write(data[position:])
    return out.getvalue()


def _exif_without_gps(payload: bytes) -> bytes | None:
    """An EXIF block (TIFF header onwards) with its GPS directory removed; None if it had none."""
    exif = Image.Exif()
    exif.load(payload)
    if GPS_IFD not in exif:
        return None
    del exif[GPS_IFD]
    return exif.tobytes()


def _strip_jpeg(data: bytes) -> bytes | None:
    edits: list[tuple[int, int, bytes]] = []
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        end = position + 2 + length
        if marker == 0xE1:
            body = data[position + 4 : end]
            if body.startswith(XMP_JPEG):
                edits.append((position, end, b""))  # XMP may carry a location of its own
            elif body.startswith(b"Exif\x00\x00"):
                cleaned = _exif_without_gps(body[6:])
                if cleaned is not None:
                    body = b"Exif\x00\x00" + cleaned
                    edits.append(
                        (position, end, b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
                    )
        position = end
    return _splice(data, edits)


def _strip_png(data: bytes) -> bytes | None:
    edits: list[tuple[int, int, bytes]] = []
    position = 8
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        body_end = min(end, len(data)) - 4  # before the CRC (of a chunk cut short, too)
        if kind == b"eXIf":
            cleaned = _exif_without_gps(data[position + 8 : body_end])
            if cleaned is not None:
                edits.append((position, end, _png_chunk(b"eXIf", cleaned)))
        elif kind == b"iTXt" and data[position + 8 : body_end].startswith(XMP_PNG):
            edits.append((position, end, b""))
        position = end
    return _splice(data, edits)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    import zlib

    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _strip_webp(data: bytes) -> bytes | None:
    view = memoryview(data)  # chunks are views: the image data is copied only when rewritten
    chunks: list[bytes | memoryview] = []
    position = 12
    edited = removed_xmp = False
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = struct.unpack("<I", data[position + 4 : position + 8])[0]
        padded = length + (length & 1)
        chunk: bytes | memoryview = view[position : position + 8 + padded]
        if kind == b"EXIF":
            body = data[position + 8 : position + 8 + length]
            payload = body[6:] if body.startswith(b"Exif\x00\x00") else body
            cleaned = _exif_without_gps(payload)
            if cleaned is not None:
                pad = b"\x00" if len(cleaned) & 1 else b""
                chunk, edited = b"EXIF" + struct.pack("<I", len(cleaned)) + cleaned + pad, True
        elif kind == b"XMP ":
            chunk, edited, removed_xmp = b"", True, True
        chunks.append(chunk)
        position += 8 + padded
    if not edited and position >= len(data) and data[4:8] == struct.pack("<I", len(data) - 8):
        return None  # rewriting it would give back the same bytes
    if removed_xmp:
        chunks = [_clear_vp8x_xmp_flag(bytes(c)) if c[:4] == b"VP8X" else c for c in chunks]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _clear_vp8x_xmp_flag(chunk: bytes) -> bytes:
    flags = chunk[8] & ~0x04  # the XMP bit
    return chunk[:8] + bytes([flags]) + chunk[9:]
