"""Image checks and thumbnails with Pillow, limited to the formats refbin accepts."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import Unprocessable

# Never EPS (Ghostscript) or any other format with a history of parser trouble.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
FORMAT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}
MAX_PIXELS = 50_000_000  # 50 megapixels: a 12 MP photo fits four times over
MAX_FRAMES = 1000
THUMB_SIZE = 512
THUMB_TYPE = "image/webp"


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    media_type: str
    thumbnail: bytes


def make_thumbnail(path: Path) -> ImageFacts:
    """Check an image and make its thumbnail (WebP, at most 512 px, EXIF orientation applied).

    Blocking: run it in an executor. Raises Unprocessable for anything that is not a sound
    image in an accepted format, within the pixel and frame limits.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise Unprocessable("The image has no pixels.")
                if width * height > MAX_PIXELS:
                    raise Unprocessable(
                        f"The image is {width}x{height}: more than {MAX_PIXELS:,} pixels "
                        "(a decompression bomb?)."
                    )
                if getattr(image, "n_frames", 1) > MAX_FRAMES:
                    raise Unprocessable(f"The image has more than {MAX_FRAMES} frames.")
                media_type = FORMAT_TYPES[image.format or ""]
                thumbnail = _thumbnail(image)
    except Unprocessable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unprocessable(
            "The image is too large when decoded (a decompression bomb?)."
        ) from None
    except UnidentifiedImageError:
        raise Unprocessable("The file is not an image in a supported format.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Unprocessable(f"The image is damaged or truncated ({exc}).") from None
    oriented_w, oriented_h = (height, width) if _swaps_axes(path) else (width, height)
    return ImageFacts(oriented_w, oriented_h, media_type, thumbnail)


def _thumbnail(image: Image.Image) -> bytes:
    if image.format == "JPEG":
        image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
    image.seek(0)
    frame = ImageOps.exif_transpose(image)
    if frame.mode not in ("RGB", "RGBA"):
        frame = frame.convert(
            "RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB"
        )
    frame.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def _swaps_axes(path: Path) -> bool:
    """Whether the EXIF orientation turns the image by 90 degrees (5 to 8)."""
    try:
        with Image.open(path, formats=ACCEPTED_FORMATS) as image:
            return image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - orientation is a nicety; the image itself was fine
        return False
