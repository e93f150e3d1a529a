"""Values that cross layers: what an item is, what a caller asked for, what they got back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Literal

Kind = Literal["url", "text", "image", "file"]
Visibility = Literal["public", "unlisted", "private"]
KINDS: tuple[Kind, ...] = ("url", "text", "image", "file")
VISIBILITIES: tuple[Visibility, ...] = ("public", "unlisted", "private")
# How each kind is named, in every front end: a title ("Paste"), one ("a paste"), several.
KIND_TITLES: dict[Kind, str] = {
    "url": "Short link",
    "text": "Paste",
    "image": "Image",
    "file": "File",
}
KIND_ONE: dict[Kind, str] = {
    "url": "a link",
    "text": "a paste",
    "image": "an image",
    "file": "a file",
}
KIND_PLURALS: dict[Kind, str] = {
    "url": "links",
    "text": "pastes",
    "image": "images",
    "file": "files",
}


@dataclass(frozen=True)
class ItemOptions:
    """What a caller may choose when adding an item."""

    owner_id: int | None = None
    guild_id: int | None = None
    visibility: Visibility = "public"
    expires_in: timedelta | None = None
    max_views: int | None = None
    password: str | None = None
    allow_secrets: bool = False  # store a paste even if it holds a credential (secrets.py)


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


@dataclass(frozen=True, slots=True)
class ListedItem(Item):
    """An item as a listing shows it: the item, and a paste's first line (stored when it was
    added; None for other kinds and for pastes older than the dashboard)."""

    first_line: str | None = None
    # A search's matching lines of a paste, its words between « and » (its owner's searches only).
    matches: str | None = None

    @property
    def views_left(self) -> int | None:
        """How many more views it may have (None: no limit)."""
        return None if self.max_views is None else max(0, self.max_views - self.views)

    @property
    def has_thumbnail(self) -> bool:
        return self.thumb_sha256 is not None


@dataclass(frozen=True)
class ListFilter:
    """Which items a listing shows; every filter given must hold (None: either way).

    `expiring_within`: only live items expiring within that time, listed soonest first (every
    other listing is newest first). `text`: a piece of the id, the file name or the link target.
    """

    kind: Kind | None = None
    visibility: Visibility | None = None
    expiring_within: timedelta | None = None
    has_password: bool | None = None
    view_limited: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing; `next_cursor` continues it (None at the end).

    A filtered page may hold fewer items than asked for (even none) and still have a
    next_cursor: each page looks at a bounded number of items (see bot/service/listing.py).
    """

    items: tuple[ListedItem, ...]
    next_cursor: str | None


class Keep(Enum):
    """The value of a field of ItemChanges that is not to change."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class ItemChanges:
    """What an owner changes on an item; fields left KEEP stay as they are.

    Expiry: `expires_in` from now, or None for never; or `extend_by` on the present expiry.
    `max_views` None removes the limit; `password` None removes the password.
    """

    expires_in: timedelta | None | Keep = KEEP
    extend_by: timedelta | None = None
    max_views: int | None | Keep = KEEP
    visibility: Visibility | Keep = KEEP
    password: str | None | Keep = KEEP


BulkAction = Literal["delete", "extend", "visibility"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("delete", "extend", "visibility")


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did to one id: done, or the domain error's code and message."""

    content_id: str
    done: bool
    code: str = ""
    message: str = ""


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
