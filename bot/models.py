"""Values that cross layers: what an item is, what a caller asked for, what they got back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

Kind = Literal["url", "text", "image", "file"]
Visibility = Literal["public", "unlisted", "private"]
KINDS: tuple[Kind, ...] = ("url", "text", "image", "file")
VISIBILITIES: tuple[Visibility, ...] = ("public", "unlisted", "private")


@dataclass(frozen=True)
class ItemOptions:
    """What a caller may choose when adding an item."""

    owner_id: int | None = None
    guild_id: int | None = None
    visibility: Visibility = "public"
    expires_in: timedelta | None = None
    max_views: int | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One stored item with the columns of its subtype (the others are None).

    Slotted: the item cache keeps hundreds of thousands of these, and an instance without a
    __dict__ is about half the size (see bot/service/cache.py for the measured bytes per entry). The
    field order is the column order of `ITEM_COLUMNS` in bot/db/items.py, which builds items
    positionally.
    """

    content_id: str
    kind: Kind
    owner_id: int | None
    guild_id: int | None
    visibility: Visibility
    created_at: datetime
    expires_at: datetime | None
    max_views: int | None
    views: int
    has_password: bool
    blocked_reason: str | None = None
    target: str | None = None  # url
    language: str | None = None  # text
    line_count: int | None = None  # text
    sha256: str | None = None  # text, image, file
    size: int | None = None
    media_type: str | None = None
    filename: str | None = None  # text, image, file
    width: int | None = None  # image
    height: int | None = None
    thumb_sha256: str | None = None

    @property
    def immutable(self) -> bool:
        """Whether the bytes behind this id can be cached for long: no expiry, no view limit."""
        return self.expires_at is None and self.max_views is None and not self.has_password


@dataclass(frozen=True)
class Created:
    """The answer to an add: the item, its URL, and the delete token (only when newly made)."""

    item: Item
    url: str
    delete_token: str | None
    created: bool


@dataclass(frozen=True)
class Page:
    """One page of an owner's items; `next_cursor` continues it (None at the end)."""

    items: tuple[Item, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Visit:
    """A view to count: the referring host ('' when none)."""

    referrer: str = ""


@dataclass(frozen=True)
class SweepReport:
    expired: int
    blobs_removed: int
    temp_files_removed: int


@dataclass(frozen=True)
class Stats:
    """An item's visits: per day (oldest first) and the top referring hosts ('' for none)."""

    content_id: str
    views: int
    per_day: tuple[tuple[date, int], ...]
    referrers: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ApiToken:
    """A live API token as `refbin token list` shows it (the token itself is never stored)."""

    name: str
    created_at: datetime
    last_used_at: datetime | None  # to within a minute; None: not used yet
