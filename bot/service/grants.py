"""Signed, short-lived proofs a browser carries for one item: that its password was given
(`UNLOCK`), or that this browser has just spent a view of it (`SEEN`).

A grant is `<expiry>.<HMAC(key, purpose | content_id | created_at | expiry)>`, with a key per
purpose derived from the instance secret. The item's creation time is in the MAC, so a grant
for an alias opens nothing once another item takes that alias (or the same item is renewed,
which restarts its life), and nothing of any other item. Nothing secret is in a grant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from bot.models import Item

UNLOCK = "unlock"
SEEN = "seen"
LIFETIMES = {UNLOCK: 3600, SEEN: 300}  # seconds


class Grants:
    """Issues and checks grants; `derive_key(purpose)` gives a key from the instance secret."""

    def __init__(self, derive_key: Callable[[str], bytes]) -> None:
        self._keys = {purpose: derive_key(f"grant/{purpose}") for purpose in LIFETIMES}
        self._etag_key = derive_key("etag")

    def issue(self, purpose: str, item: Item, now: float | None = None) -> str:
        """A grant of `purpose` for `item`, valid for LIFETIMES[purpose] seconds."""
        expires = int(now if now is not None else time.time()) + LIFETIMES[purpose]
        return f"{expires}.{self._mac(purpose, item, expires)}"

    def holds(self, purpose: str, item: Item, grant: str | None) -> bool:
        """Whether `grant` is an unexpired grant of `purpose` for this very item."""
        stamp, _, mac = (grant or "").partition(".")
        # A cookie that was not UTF-8 arrives with lone surrogates: no grant, not a crash.
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 or not mac.isascii():
            return False
        expires = int(stamp)
        if expires < time.time():
            return False
        expected = self._mac(purpose, item, expires)
        return hmac.compare_digest(mac.encode(), expected.encode())

    def opaque_digest(self, sha256: str) -> str:
        """A stand-in for a sha256 that must not be shown (in an ETag): a keyed hash of it,
        stable for the same bytes, useless for confirming a guess."""
        return hmac.new(self._etag_key, sha256.encode(), hashlib.sha256).hexdigest()

    def _mac(self, purpose: str, item: Item, expires: int) -> str:
        created = item.created_at.isoformat()
        message = f"{purpose}|{item.content_id}|{created}|{expires}".encode()
        digest = hmac.new(self._keys[purpose], message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
