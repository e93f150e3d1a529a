"""Thumbnail of a 12-megapixel JPEG: refbin's make_thumbnail against Pillow called directly.

python -m bench.thumbs JPEG REPETITIONS  -> JSON on stdout (median ms each)
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

from bot.service.images import THUMB_SIZE, make_thumbnail


def pillow_draft_thumbnail(path: Path, *, encode: bool) -> bytes:
    """The reference: open, draft, thumbnail (and, like refbin, encode the WebP)."""
    with Image.open(path) as image:
        image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
        image.thumbnail((THUMB_SIZE, THUMB_SIZE))
        if not encode:
            return b""
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=4)
        return out.getvalue()


def median_ms(call, repetitions: int) -> float:
    call()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def make_jpeg(path: Path, width: int = 4000, height: int = 3000) -> Path:
    """A photo-like 12 MP JPEG: gradients with noise, so it compresses like a real one."""
    if path.exists():
        return path
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = Image.effect_noise((width, height), 48)
    Image.merge("RGB", (red, green, blue)).save(path, "JPEG", quality=90)
    return path


def main() -> None:
    path, repetitions = Path(sys.argv[1]), int(sys.argv[2])
    result = {
        "refbin_ms": median_ms(lambda: make_thumbnail(path), repetitions),
        "pillow_ms": median_ms(lambda: pillow_draft_thumbnail(path, encode=True), repetitions),
        "pillow_no_encode_ms": median_ms(
            lambda: pillow_draft_thumbnail(path, encode=False), repetitions
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
