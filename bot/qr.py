"""QR codes of short URLs, as SVG or PNG, for the web and Discord (segno: pure Python)."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

SVG_TYPE = "image/svg+xml"
PNG_TYPE = "image/png"


@lru_cache(maxsize=512)
def qr_code(url: str, kind: str = "svg") -> bytes:
    """The QR code of `url` as SVG (kind "svg") or PNG (kind "png"); a few ms, so cached.

    8 pixels a module and a 2-module border: big enough to scan from a phone held to a screen.
    Never a Micro QR code, which many phone readers cannot read.
    """
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "png":
        code.save(out, kind="png", scale=8, border=2)
    else:
        code.save(out, kind="svg", scale=8, border=2, xmldecl=True, title="QR code")
    return out.getvalue()
