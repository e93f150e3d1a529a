"""The media type of stored bytes, decided by the bytes themselves, never by a name or header."""

from __future__ import annotations

import re

# (offset, signature, media type), checked in order.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"\x00\x00\x01\x00", "image/x-icon"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (257, b"ustar", "application/x-tar"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"\x00asm", "application/wasm"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"MZ", "application/x-msdownload"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {
    b"avif": "image/avif",
    b"heic": "image/heic",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
}
_HTML = re.compile(
    rb"<(!doctype\s+html|html|head|body|script|iframe|object|embed|meta|link|style|title|a\s|img\s"
    rb"|div|form|svg|math|base|frameset|xml)",
    re.IGNORECASE,
)

TEXT_PLAIN = "text/plain; charset=utf-8"
OCTET_STREAM = "application/octet-stream"
# Types a browser would run or render as a document on our origin.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "text/javascript",
        "application/javascript",
        "application/pdf",
        "application/wasm",
    }
)
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def sniff(head: bytes) -> str:
    """The media type of a blob from its first bytes (a few KiB are enough)."""
    for offset, signature, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if is_text(head):
        return _text_type(head)
    return OCTET_STREAM


def is_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes (a character cut at the end of the head is allowed)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _text_type(head: bytes) -> str:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = start[:512].lower()
    if lowered.startswith(b"<?xml"):
        return "image/svg+xml" if b"<svg" in head.lower() else "application/xml"
    if b"<svg" in head.lower()[:4096] and lowered.startswith(b"<"):
        return "image/svg+xml"
    if _HTML.search(head):
        return "text/html"
    return TEXT_PLAIN


def is_active(media_type: str) -> bool:
    """Whether a browser would run this type as a document: such bytes are never served inline."""
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ACTIVE_TYPES or base.endswith("+xml") or base.startswith("text/html")
