"""Whether an uploaded file is text, in which encoding, and in which language.

The decision is taken on the file's head (its first HEAD_BYTES): a byte-order mark, then a
declared charset that the head decodes with, then UTF-8, then a confident detection
(charset-normalizer) for legacy files such as Latin-1 or Windows-1252. NUL bytes, too many
control characters, or a document format that only looks like text (PDF) make it binary. The
rest of the file is then validated as it streams through an incremental decoder (`TextStream`),
so a file that starts as text and turns binary later is refused too, and a file over the paste
limit is refused by its size before anything is decoded.

Everything here is pure and blocking on big inputs: the service calls it in an executor.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass

from charset_normalizer import from_bytes

from bot.service.languages import detect_language
from bot.service.sniff import sniff

HEAD_BYTES = 64 * 1024  # what the decision reads; detection costs grow with it
MAX_CONTROL_SHARE = 0.01  # more control characters than this share of the text: binary
MIN_CONTROLS = 8  # ... once there are more than a few (a stray form feed is no binary)
CHAOS_LIMIT = 0.2  # charset-normalizer's "mess" above which its guess is not trusted
FALLBACK_ENCODING = "cp1252"  # what browsers assume for unlabelled legacy Western text

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls but tab, line feed, vertical tab, form feed, carriage return and escape (logs have
# colour codes), DEL, and the C1 controls (a Latin-1 decoding of something that is not Latin-1).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
# The Python names of the charsets that HTTP and MIME use (IANA's registry, less the oddities).
_CHARSET_CODECS = re.compile(
    r"utf-(8|16|32)(-[lb]e)?|utf-8-sig|ascii|iso8859-\d+|cp\d+|koi8-\w+|mac-\w+|shift_jis\w*"
    r"|euc_\w+|gb\w+|big5\w*|iso2022_\w+|hz|johab|tis-620|ptcp154|kz1048"
)
_DOCUMENT_TYPES = frozenset({"application/pdf"})  # text-like heads, binary bodies


@dataclass(frozen=True)
class TextFile:
    """An upload read as text: the text, the codec it was read with, and its language."""

    text: str
    encoding: str  # a Python codec name: "utf-8", "utf-8-sig", "utf-16", "cp1252", …
    language: str  # a canonical Pygments alias; PLAIN when nothing more fits


def decode_text_file(
    data: bytes,
    declared_charset: str | None = None,
    filename: str | None = None,
    *,
    limit: int,
) -> TextFile | None:
    """The file as text with its language, or None when it is binary, empty or over `limit`."""
    if not data or len(data) > limit:
        return None
    encoding = text_encoding(data[:HEAD_BYTES], declared_charset)
    if encoding is None:
        return None
    view = memoryview(data)
    chunks = (view[start : start + HEAD_BYTES] for start in range(0, len(data), HEAD_BYTES))
    text = decode_chunks(chunks, encoding, limit=limit)
    if text is None:
        return None
    return TextFile(text, encoding, detect_language(text, filename=filename))


def text_encoding(head: bytes, declared_charset: str | None = None) -> str | None:
    """The codec to read a file with, judged from its first bytes alone; None for binary.

    `head` may end in the middle of a character: that is not held against it.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding if _reads_as_text(head, encoding) else None
    if sniff(head) in _DOCUMENT_TYPES:
        return None
    declared = _codec(declared_charset)
    if declared and _reads_as_text(head, declared):  # UTF-16 without a BOM can only be declared
        return declared
    if b"\x00" in head:
        return None
    if _reads_as_text(head, "utf-8"):
        return "utf-8"
    detected = _detect(head)
    return detected if detected and _reads_as_text(head, detected) else None


def _codec(charset: str | None) -> str | None:
    """The Python codec a declared charset names, if it is a text encoding at all."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    # Python's codecs also include base64, zlib, rot13, unicode_escape…: only charsets pass.
    return codec.name if _CHARSET_CODECS.fullmatch(codec.name) else None


def _reads_as_text(head: bytes, encoding: str) -> bool:
    """The head decodes (an incomplete last character allowed) to text with few controls."""
    try:
        decoded = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except (UnicodeDecodeError, LookupError):
        return False
    return not _too_many_controls(decoded)


def _too_many_controls(text: str) -> bool:
    return "\x00" in text or _too_many(len(_CONTROL.findall(text)), len(text))


def _detect(head: bytes) -> str | None:
    """charset-normalizer's guess when it makes sense of the bytes, else Windows-1252 if that
    decodes them (it is what browsers fall back to); None when nothing reads as text."""
    best = from_bytes(head).best()
    if best is None or best.chaos > CHAOS_LIMIT:
        return None
    if best.coherence > 0:
        return codecs.lookup(best.encoding).name
    # No language recognised (a short or technical text): a random multi-byte guess such as
    # Shift-JIS for a few accented Latin letters would show mojibake; the Western default is
    # right far more often.
    return FALLBACK_ENCODING if _reads_as_text(head, FALLBACK_ENCODING) else None


class TextStream:
    """Decodes a file chunk by chunk, giving up at the first sign of binary or past `limit`."""

    def __init__(self, encoding: str, *, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.size = 0
        self.failed = False
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._parts: list[str] = []
        self._controls = 0
        self._chars = 0

    def feed(self, chunk: bytes | memoryview) -> bool:
        """Takes the next bytes; False (for good) once the file is not text or too large."""
        if self.failed:
            return False
        self.size += len(chunk)
        try:
            if self.size > self.limit:
                raise ValueError("over the limit")
            self._take(self._decoder.decode(chunk))
        except ValueError:  # UnicodeDecodeError is one
            self.failed = True
            self._parts.clear()
        return not self.failed

    def finish(self) -> str | None:
        """The whole text, or None if the file turned out not to be text."""
        if not self.failed:
            try:
                self._take(self._decoder.decode(b"", final=True))
            except ValueError:
                self.failed = True
        if self.failed or _too_many(self._controls, self._chars):
            return None
        return "".join(self._parts)

    def _take(self, text: str) -> None:
        if "\x00" in text:
            raise ValueError("NUL")
        controls = len(_CONTROL.findall(text))
        if _too_many(controls, len(text)):
            raise ValueError("control characters")
        self._controls += controls
        self._chars += len(text)
        self._parts.append(text)


def _too_many(controls: int, chars: int) -> bool:
    return controls > MIN_CONTROLS and controls > chars * MAX_CONTROL_SHARE


def decode_chunks(chunks: Iterable[bytes | memoryview], encoding: str, *, limit: int) -> str | None:
    """The text of a file read in chunks (from storage, say), or None if it is not text."""
    stream = TextStream(encoding, limit=limit)
    for chunk in chunks:
        if not stream.feed(chunk):
            return None
    return stream.finish()
