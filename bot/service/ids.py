"""Content ids: base62 of a keyed hash, so equal content gets equal ids only for its owner;
what an id or an alias may look like, and the words neither may take."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SHORT_LENGTH = 7
PRIVATE_LENGTH = 22  # 22 base62 digits carry 130 bits
MAX_LENGTH = 43  # all of a 256-bit HMAC in base62

# Any id refbin may have answered with: generated ones are base62, aliases add '-' and '_'.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Words an alias (or an unlucky generated id) may not take: they are, or may become, routes.
RESERVED = frozenset(
    {
        "api",
        "raw",
        "static",
        "healthz",
        "metrics",
        "thumb",
        "qr",
        "oembed",
        "sharex",
        "login",
        "auth",
        "me",
        "logout",
        "admin",
        "about",
        "help",
        "docs",
        "new",
        "upload",
        "paste",
        "shorten",
        "favicon",
        "robots",
        "sitemap",
        "well-known",
        "assets",
        "files",
        "f",
        "p",
        "u",
        "i",
    }
)


def base62(data: bytes) -> str:
    """Big-endian base62 of bytes, without padding."""
    number = int.from_bytes(data, "big")
    if number == 0:
        return ALPHABET[0]
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def keyed_candidates(
    secret: bytes, kind: str, owner: int, digest: bytes, start: int = SHORT_LENGTH
) -> Iterator[str]:
    """The ids this content may take, shortest first: each one character longer than the last."""
    mac = hmac.new(secret, f"{kind}|{owner}|".encode() + digest, hashlib.sha256).digest()
    full = base62(mac).rjust(MAX_LENGTH, ALPHABET[0])
    for length in range(start, MAX_LENGTH + 1):
        yield full[:length]


def random_candidates(start: int = SHORT_LENGTH) -> Iterator[str]:
    """Random ids, one character longer after each collision."""
    for length in range(start, MAX_LENGTH + 1):
        yield "".join(secrets.choice(ALPHABET) for _ in range(length))
