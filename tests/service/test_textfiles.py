"""Text or binary, in which encoding and language: real files written to disk and read back,
legacy encodings, binaries made by the real tools (Pillow, zipfile, gzip, the system's own
executables), binaries that start like text, and a 10 MiB log in bounded time."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bot.service.textfiles import (
    HEAD_BYTES,
    TextFile,
    TextStream,
    decode_chunks,
    decode_text_file,
    text_encoding,
)

LIMIT = 1024 * 1024  # the default paste limit
GERMAN = "Grüße aus Köln! Die Straße ist schön, über alles.\nZweite Zeile mit Äpfeln und Öl.\n"
FRENCH = "Le café est très bon. À bientôt, garçon ! Noël approche, et l'été est loin.\n"


def written(tmp_path: Path, name: str, data: bytes) -> tuple[bytes, str]:
    """Writes the file and reads it back, as an upload would arrive."""
    path = tmp_path / name
    path.write_bytes(data)
    return path.read_bytes(), name


def read(tmp_path: Path, name: str, data: bytes, charset: str | None = None) -> TextFile | None:
    body, filename = written(tmp_path, name, data)
    return decode_text_file(body, charset, filename, limit=LIMIT)


def test_utf8_source_file_is_text_with_its_language(tmp_path: Path) -> None:
    source = Path(__file__).read_bytes()
    found = read(tmp_path, "test_textfiles.py", source)
    assert found == TextFile(source.decode(), "utf-8", "python")


def test_utf8_with_bom_drops_the_bom(tmp_path: Path) -> None:
    found = read(tmp_path, "notes.txt", codecs.BOM_UTF8 + GERMAN.encode())
    assert found is not None
    assert (found.text, found.encoding, found.language) == (GERMAN, "utf-8-sig", "text")


def test_language_from_content_when_the_name_says_nothing(tmp_path: Path) -> None:
    found = read(tmp_path, "upload", b"def main() -> None:\n    print('hi')\n\nmain()\n")
    assert found is not None and found.language == "python"


@pytest.mark.parametrize("text", [GERMAN, FRENCH, GERMAN + FRENCH])
def test_latin1_is_detected_and_decoded_right(tmp_path: Path, text: str) -> None:
    found = read(tmp_path, "legacy.txt", text.encode("latin-1"))
    assert found is not None
    assert found.text == text
    assert found.encoding in {"iso8859-1", "cp1252", "cp1250", "iso8859-15"}


def test_short_latin1_falls_back_to_windows_1252(tmp_path: Path) -> None:
    found = read(tmp_path, "menu.txt", "Crème brûlée, café\n".encode("latin-1"))
    assert found is not None
    assert (found.text, found.encoding) == ("Crème brûlée, café\n", "cp1252")


def test_windows_1252_punctuation(tmp_path: Path) -> None:
    text = "He said “hello” – and left…\n"
    found = read(tmp_path, "quote.txt", text.encode("cp1252"))
    assert found is not None and found.text == text


def test_declared_charset_is_used_when_the_bytes_agree(tmp_path: Path) -> None:
    found = read(tmp_path, "x.txt", GERMAN.encode("iso-8859-15"), charset='"ISO-8859-15"')
    assert found is not None
    assert (found.text, found.encoding) == (GERMAN, "iso8859-15")


def test_a_wrong_declared_charset_is_not_trusted(tmp_path: Path) -> None:
    found = read(tmp_path, "x.txt", "naïve café\n".encode(), charset="us-ascii")
    assert found is not None
    assert (found.text, found.encoding) == ("naïve café\n", "utf-8")


@pytest.mark.parametrize("charset", ["base64", "rot13", "zlib", "unicode_escape", "idna", "x"])
def test_a_declared_codec_that_is_no_charset_is_ignored(charset: str) -> None:
    assert text_encoding(b"aGVsbG8=\\u0041\n", charset) == "utf-8"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom(tmp_path: Path, encoding: str) -> None:
    data = GERMAN.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    found = read(tmp_path, "wide.txt", data)
    assert found is not None and found.text == GERMAN


def test_utf16_without_a_bom_is_text_only_when_declared(tmp_path: Path) -> None:
    data = GERMAN.encode("utf-16-le")
    assert read(tmp_path, "wide.txt", data) is None
    found = read(tmp_path, "wide.txt", data, charset="utf-16le")
    assert found is not None and found.text == GERMAN


def test_ansi_coloured_log_is_text(tmp_path: Path) -> None:
    log = b"\x1b[31mERROR\x1b[0m disk full\n\x1b[32mINFO\x1b[0m retry\n\x0c\n" * 200
    found = read(tmp_path, "build.log", log)
    assert found is not None and found.text == log.decode()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "hello " * 100)
    return out.getvalue()


BINARIES = {
    "png": ("image.png", png_bytes),
    "zip": ("archive.zip", zip_bytes),
    "gzip": ("log.txt.gz", lambda: gzip.compress(b"line\n" * 1000)),
    "executable": ("python", lambda: Path(sys.executable).resolve().read_bytes()[:200_000]),
    "random": ("noise.bin", lambda: os.urandom(50_000)),
    "pdf": (
        "paper.pdf",
        lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    ),
}


@pytest.mark.parametrize("kind", list(BINARIES))
def test_binaries_stay_files(tmp_path: Path, kind: str) -> None:
    name, make = BINARIES[kind]
    assert read(tmp_path, name, make()) is None


@pytest.mark.parametrize("charset", [None, "iso-8859-1", "utf-8"])
def test_a_declared_charset_does_not_make_a_binary_text(tmp_path: Path, charset: str) -> None:
    assert read(tmp_path, "image.png", png_bytes(), charset=charset) is None


def test_self_extracting_script_is_binary_though_its_head_is_text(tmp_path: Path) -> None:
    """A shell script with an archive appended (as makeself builds installers)."""
    script = b'#!/bin/sh\n# installer\ntail -n +5 "$0" | unzip -\nexit 0\n'
    data = script * 2000 + zip_bytes()
    assert len(script) * 2000 > HEAD_BYTES  # the binary part is past the head
    assert text_encoding(data[:HEAD_BYTES]) == "utf-8"  # the head alone looks like text
    assert read(tmp_path, "install.sh", data) is None  # the streamed rest says otherwise


def test_text_with_a_few_stray_controls_is_still_text(tmp_path: Path) -> None:
    data = b"page one\n\x0cpage two\x07 bell\n" + b"plain line\n" * 100
    assert read(tmp_path, "doc.txt", data) is not None


def test_text_with_many_controls_is_binary(tmp_path: Path) -> None:
    data = bytes(range(1, 32)) * 100 + b"some words\n"
    assert read(tmp_path, "odd.txt", data) is None


def test_empty_file_is_not_a_paste(tmp_path: Path) -> None:
    assert read(tmp_path, "empty.txt", b"") is None


def test_over_the_limit_stays_a_file() -> None:
    assert decode_text_file(b"x" * 101, filename="a.txt", limit=100) is None
    assert decode_text_file(b"x" * 100, filename="a.txt", limit=100) is not None


def test_multibyte_characters_split_across_chunks() -> None:
    data = ("é€𝄞" * 10_000).encode()
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # splits every character
    assert decode_chunks(chunks, "utf-8", limit=len(data)) == "é€𝄞" * 10_000
    assert decode_chunks(chunks, "utf-8", limit=len(data) - 1) is None


def test_a_stream_that_ends_inside_a_character_is_not_text() -> None:
    stream = TextStream("utf-8", limit=100)
    assert stream.feed("abc€".encode()[:-1])
    assert stream.finish() is None


def test_a_stream_stays_failed() -> None:
    stream = TextStream("utf-8", limit=1000)
    assert not stream.feed(b"\xff\xfe\xfd")
    assert not stream.feed(b"fine now")
    assert stream.finish() is None


def big_log(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "server.log"
    line = b"2024-05-01T12:00:00Z INFO request handled in 12ms path=/api/v1/items status=200\n"
    with path.open("wb") as out:
        while out.tell() < size:
            out.write(line * 1000)
    return path


def test_ten_mib_log_is_decided_by_its_head_and_read_in_bounded_time(tmp_path: Path) -> None:
    path = big_log(tmp_path, 10 * 1024 * 1024)
    with path.open("rb") as source:
        head = source.read(HEAD_BYTES)
        started = time.perf_counter()
        assert text_encoding(head) == "utf-8"
        assert time.perf_counter() - started < 2
        started = time.perf_counter()
        chunks = iter(lambda: source.read(HEAD_BYTES), b"")
        text = decode_chunks([head, *chunks], "utf-8", limit=16 * 1024 * 1024)
        assert time.perf_counter() - started < 5
    assert text is not None and len(text) == path.stat().st_size


def test_ten_mib_log_over_the_paste_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    data = big_log(tmp_path, 10 * 1024 * 1024).read_bytes()
    started = time.perf_counter()
    assert decode_text_file(data, None, "server.log", limit=LIMIT) is None
    assert time.perf_counter() - started < 0.5
    stream = TextStream("utf-8", limit=LIMIT)
    fed = 0
    for start in range(0, len(data), HEAD_BYTES):
        fed += 1
        if not stream.feed(data[start : start + HEAD_BYTES]):
            break
    assert fed == LIMIT // HEAD_BYTES + 1  # it stopped at the limit, not at the end


def test_ten_mib_log_whole_is_text_within_a_larger_limit(tmp_path: Path) -> None:
    data = big_log(tmp_path, 10 * 1024 * 1024).read_bytes()
    started = time.perf_counter()
    found = decode_text_file(data, None, "server.log", limit=16 * 1024 * 1024)
    assert time.perf_counter() - started < 10
    assert found is not None and len(found.text) == len(data)


@pytest.mark.skipif(shutil.which("ls") is None, reason="needs a system executable")
def test_a_system_executable_is_binary() -> None:
    data = Path(shutil.which("ls") or "").read_bytes()
    assert text_encoding(data[:HEAD_BYTES]) is None
