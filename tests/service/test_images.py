"""Thumbnails and location metadata, called directly (no worker, no database): every EXIF
orientation shown upright, the limits on what is decoded, and GPS and XMP taken out without
touching anything else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from bot.errors import Unprocessable
from bot.service.image_metadata import strip_location
from bot.service.images import THUMB_SIZE, make_thumbnail

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
STORED = {"top-left": RED, "top-right": GREEN, "bottom-left": BLUE, "bottom-right": WHITE}

# Where each stored corner is seen once the orientation is applied (EXIF 2.3, tag 0x0112: 1 is
# upright, 2 mirrored, 3 turned 180, 4 flipped, 5 transposed, 6 turned 90 clockwise to view,
# 7 transversed, 8 turned 90 anticlockwise to view), as the colours of the shown
# top-left, top-right, bottom-left and bottom-right corners.
SHOWN = {
    1: (RED, GREEN, BLUE, WHITE),
    2: (GREEN, RED, WHITE, BLUE),
    3: (WHITE, BLUE, GREEN, RED),
    4: (BLUE, WHITE, RED, GREEN),
    5: (RED, BLUE, GREEN, WHITE),
    6: (BLUE, RED, WHITE, GREEN),
    7: (WHITE, GREEN, BLUE, RED),
    8: (GREEN, WHITE, RED, BLUE),
}


def quadrants(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """An image whose four quadrants have the four STORED colours."""
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    image.paste(WHITE, (half_w, half_h, width, height))
    image = image.convert(mode)
    if "A" in mode:
        image.putalpha(200)  # translucent: the WebP encoder drops an alpha that is all opaque
    return image


def with_orientation(image: Image.Image, fmt: str, orientation: int | None, **params) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes(), **params)
    return out.getvalue()


def corners(thumbnail: bytes) -> tuple[tuple[int, int, int], ...]:
    """The colour nearest each corner of the thumbnail (sampled a tenth of the way in)."""
    with Image.open(io.BytesIO(thumbnail)) as image:
        rgb = image.convert("RGB")
    w, h = rgb.size
    inset_w, inset_h = w // 10, h // 10
    points = [(inset_w, inset_h), (w - inset_w, inset_h), (inset_w, h - inset_h)]
    points.append((w - inset_w, h - inset_h))

    def nearest(pixel):
        return min(
            STORED.values(), key=lambda c: sum((a - b) ** 2 for a, b in zip(c, pixel, strict=True))
        )

    return tuple(nearest(rgb.getpixel(point)) for point in points)


def thumbnail_of(tmp_path: Path, data: bytes, name: str = "upload.bin"):
    path = tmp_path / name
    path.write_bytes(data)
    return make_thumbnail(path)


@pytest.mark.parametrize("orientation", [None, *range(1, 9)])
def test_every_exif_orientation_is_shown_upright(tmp_path: Path, orientation) -> None:
    # 2400x1600 stored: big enough that the JPEG is decoded at half size (the draft).
    data = with_orientation(quadrants(2400, 1600), "JPEG", orientation, quality=95)
    facts = thumbnail_of(tmp_path, data)
    turned = orientation in (5, 6, 7, 8)
    assert (facts.width, facts.height) == ((1600, 2400) if turned else (2400, 1600))
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == ((341, 512) if turned else (512, 341))
        assert thumb.getexif().get(0x0112) is None  # applied, never left for a viewer to repeat
    assert corners(facts.thumbnail) == SHOWN[orientation or 1]
    assert facts.cleaned_path is None  # nothing to remove: the stored file is the upload


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_is_read_from_png_and_webp_too(tmp_path: Path, fmt, orientation) -> None:
    data = with_orientation(quadrants(900, 600, "RGBA"), fmt, orientation, lossless=True)
    facts = thumbnail_of(tmp_path, data)
    turned = orientation in (5, 6, 7, 8)
    assert (facts.width, facts.height) == ((600, 900) if turned else (900, 600))
    assert corners(facts.thumbnail) == SHOWN[orientation]


@pytest.mark.parametrize(
    ("fmt", "mode", "thumb_mode"),
    [
        ("JPEG", "L", "RGB"),
        ("JPEG", "CMYK", "RGB"),
        ("PNG", "P", "RGB"),
        ("PNG", "LA", "RGBA"),
        ("PNG", "I;16", "RGB"),
        ("GIF", "P", "RGB"),
        ("BMP", "RGB", "RGB"),
        ("WEBP", "RGBA", "RGBA"),
    ],
)
def test_every_accepted_mode_gives_a_webp_thumbnail(tmp_path: Path, fmt, mode, thumb_mode) -> None:
    out = io.BytesIO()
    quadrants(1300, 700, mode).save(out, fmt)
    facts = thumbnail_of(tmp_path, out.getvalue())
    assert (facts.width, facts.height, facts.media_type) == (1300, 700, f"image/{fmt.lower()}")
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("WEBP", thumb_mode, (512, 276))


def test_animation_is_thumbnailed_from_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (800, 600), colour) for colour in (RED, GREEN, BLUE)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50)
    facts = thumbnail_of(tmp_path, out.getvalue())
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert getattr(thumb, "n_frames", 1) == 1 and thumb.size == (512, 384)
    assert corners(facts.thumbnail) == (RED,) * 4


def test_small_images_are_not_enlarged(tmp_path: Path) -> None:
    facts = thumbnail_of(tmp_path, with_orientation(quadrants(40, 30), "JPEG", 6))
    assert (facts.width, facts.height) == (30, 40)
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert thumb.size == (30, 40)


def test_the_thumbnail_is_at_most_thumb_size(tmp_path: Path) -> None:
    facts = thumbnail_of(tmp_path, with_orientation(quadrants(4000, 3000), "JPEG", None))
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert thumb.size == (THUMB_SIZE, 384)


def test_decompression_bombs_are_refused_before_decoding(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, "PNG")  # 60 megapixels in a few kilobytes
    with pytest.raises(Unprocessable, match="decompression bomb"):
        thumbnail_of(tmp_path, out.getvalue())


def test_unreadable_exif_is_refused_not_stored_with_its_location(tmp_path: Path) -> None:
    # Pillow reads no orientation from it and shows the image; the GPS directory, if any,
    # cannot be found to remove it. Before, this escaped make_thumbnail as a SyntaxError.
    data = with_orientation(quadrants(64, 48), "JPEG", 6)
    start = data.index(b"Exif\x00\x00") + 6
    damaged = data[:start] + b"XX" + data[start + 2 :]  # not a TIFF header any more
    with pytest.raises(Unprocessable, match="damaged or truncated"):
        thumbnail_of(tmp_path, damaged)


# ---- location metadata ------------------------------------------------------------------------

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def photo(fmt: str, *, gps: bool, xmp: bool) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    params: dict = {"exif": exif.tobytes()}
    if xmp and fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        params["pnginfo"] = info
    elif xmp:
        params["xmp"] = XMP
    out = io.BytesIO()
    quadrants(64, 48).save(out, fmt, **params)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(("gps", "xmp"), [(True, False), (False, True), (True, True)])
def test_gps_and_xmp_are_removed_and_the_rest_kept(fmt, gps, xmp) -> None:
    data = photo(fmt, gps=gps, xmp=xmp)
    cleaned = strip_location(data)
    assert cleaned is not None and cleaned != data
    with Image.open(io.BytesIO(cleaned)) as image:
        image.load()
        exif = image.getexif()
        assert 0x8825 not in exif
        assert exif.get(0x0112) == 6 and exif.get(0x010F) == "PhoneMaker"
        assert not any("xmp" in key.lower() for key in image.info)
        assert image.size == (64, 48)
    assert strip_location(cleaned) is None  # nothing left to remove


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_nothing_to_remove_gives_none(fmt) -> None:
    data = photo(fmt, gps=False, xmp=False) if fmt in ("JPEG", "PNG", "WEBP") else b""
    if not data:
        out = io.BytesIO()
        quadrants(64, 48).save(out, fmt)
        data = out.getvalue()
    assert strip_location(data) is None


def test_a_webp_with_a_wrong_riff_size_is_still_rewritten_as_before() -> None:
    data = bytearray(photo("WEBP", gps=False, xmp=False))
    data[4:8] = (len(data) + 100).to_bytes(4, "little")  # claims more than there is
    cleaned = strip_location(bytes(data))
    assert cleaned is not None and int.from_bytes(cleaned[4:8], "little") == len(cleaned) - 8


def test_the_thumbnail_reports_the_cleaned_copy(tmp_path: Path) -> None:
    facts = thumbnail_of(tmp_path, photo("JPEG", gps=True, xmp=True), "photo.part")
    assert facts.cleaned_path is not None
    assert strip_location(facts.cleaned_path.read_bytes()) is None
    assert (facts.width, facts.height) == (48, 64)
