"""Image checks and thumbnails with Pillow, limited to the formats refbin accepts."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import resource
import signal
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import Unprocessable
from bot.image_metadata import strip_location

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
    return ImageFacts(oriented_w, oriented_h, media_type, thumbnail, _without_location(path))


def _without_location(path: Path) -> Path | None:
    """Write the image without its location next to it (a .part file the sweep would remove)."""
    cleaned = strip_location(path.read_bytes())
    if cleaned is None:
        return None
    target = path.with_name(path.stem + ".clean.part")
    target.write_bytes(cleaned)
    return target


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
                initializer=_limit_memory,
                initargs=(self.memory_limit,),
            )
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Ctrl-C reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
