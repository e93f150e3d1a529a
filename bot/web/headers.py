"""HTTP header values refbin builds itself."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str | None, disposition: str = "attachment") -> str:
    """A Content-Disposition value (RFC 6266): the exact name as RFC 5987 `filename*`, and an
    ASCII fallback `filename` for old clients. Safe for any name: nothing can end the header."""
    if disposition not in ("inline", "attachment"):
        raise ValueError(f"not a disposition: {disposition!r}")
    if not filename:
        return disposition
    # Quotes, backslashes and controls would break out of the quoted-string; some clients
    # percent-decode the fallback, so '%' goes too.
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    encoded = quote(filename, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
