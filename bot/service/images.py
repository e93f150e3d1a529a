"""Image checks and thumbnails with Pillow, limited to the formats refbin accepts."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from bot.errors import Unprocessable
from bot.service.image_metadata import strip_location
from bot.workers import kill_pool, limit_worker

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
ORIENTATION = 0x0112  # the EXIF tag
# Each EXIF orientation but 1 (upright), and the transpose that shows the image upright: the
# same table as ImageOps.exif_transpose. 5 to 8 turn it by 90 degrees.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SWAPS_AXES = (
    Image.Transpose.TRANSPOSE,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
)


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    media_type: str
    thumbnail: bytes
    cleaned_path: Path | None = None  # the image without location metadata, when it had some


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
                thumbnail, swaps_axes = _thumbnail(image)
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
    oriented_w, oriented_h = (height, width) if swaps_axes else (width, height)
    return ImageFacts(oriented_w, oriented_h, media_type, thumbnail, _without_location(path))


def _without_location(path: Path) -> Path | None:
    """Write the image without its location next to it (a .part file the sweep would remove).

    Metadata that cannot be read cannot be cleaned: the image is refused rather than stored
    with whatever location it may hold.
    """
    data = path.read_bytes()
    try:
        cleaned = strip_location(data)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - no I/O in there: any failure is the metadata's
        raise Unprocessable(f"The image is damaged or truncated (its metadata: {exc}).") from None
    if cleaned is None:
        return None
    target = path.with_name(path.stem + ".clean.part")
    target.write_bytes(cleaned)
    return target


def _thumbnail(image: Image.Image) -> tuple[bytes, bool]:
    """The WebP thumbnail, upright, and whether the EXIF orientation turns the image by 90 degrees.

    The orientation is read from the image already open, and applied to the thumbnail (a
    transpose of at most 512x512 pixels) only when it says the image is not upright.
    """
    if image.format == "JPEG":
        image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))  # decoded at 1/2, 1/4 or 1/8 scale
    image.seek(0)
    image.load()
    upright = UPRIGHT.get(image.getexif().get(ORIENTATION, 1))
    frame = image
    if frame.mode not in ("RGB", "RGBA"):
        frame = frame.convert(
            "RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB"
        )
    # Pillow's default: bicubic, after a reduce by whole factors to no less than twice the size
    # (reducing_gap=2.0; for a JPEG the draft above already did it). Against LANCZOS: a third
    # less work for the resize, and after the WebP encode within 0.5 dB PSNR of it.
    frame.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if upright is not None:
        frame = frame.transpose(upright)
    out = io.BytesIO()
    frame.save(out, "WEBP", quality=80, method=4)
    return out.getvalue(), upright in SWAPS_AXES


class ImageWorker:
    """Runs image work in a separate process, bounded in time and memory.

    A hostile image can make Pillow spin or allocate without end; in a worker process that
    costs a restart of the worker, never the server. The pool starts on first use.
    """

    def __init__(
        self, timeout: float = 30.0, memory_limit: int = 1 << 30, workers: int = 1
    ) -> None:
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def thumbnail(self, path: Path) -> ImageFacts:
        """make_thumbnail in the worker; Unprocessable when it fails, is killed or times out."""
        pool = self._ensure_pool()
        future = asyncio.get_running_loop().run_in_executor(pool, make_thumbnail, path)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self._discard_pool()
            raise Unprocessable("The image took too long to process.") from None
        except BrokenProcessPool:
            self._discard_pool()
            raise Unprocessable("The image could not be processed (too much memory?).") from None
        except MemoryError:
            raise Unprocessable("The image needs too much memory to process.") from None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=limit_worker,
                initargs=(self.memory_limit,),
            )
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        kill_pool(pool)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
