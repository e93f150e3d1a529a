"""Who may add items, what a new item's options may be, and who must give an item's password:
asked by every front door and by the service itself, decided here once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.config import Settings
from bot.errors import Invalid, Unauthenticated
from bot.models import VISIBILITIES, Item, ItemOptions

MAX_VIEWS_LIMIT = 1_000_000_000
MAX_PASSWORD = 200
NEEDS_OWNER = "This instance needs an API token to add items."


def check_adder(settings: Settings, owner_id: int | None) -> None:
    """Unauthenticated for an anonymous caller (no owner) when the instance takes no anonymous
    items (`server.anonymous_uploads = false`)."""
    if owner_id is None and not settings.server.anonymous_uploads:
        raise Unauthenticated(NEEDS_OWNER)


def check_options(settings: Settings, options: ItemOptions) -> ItemOptions:
    """The options, if this instance allows them; Invalid naming the first one it does not.
    Front doors ask before they read an upload; the service asks again before it records."""
    if options.visibility not in VISIBILITIES:
        raise Invalid("Visibility is public, unlisted or private.")
    if options.max_views is not None and not 0 < options.max_views <= MAX_VIEWS_LIMIT:
        raise Invalid(f"The view limit is a number from 1 to {MAX_VIEWS_LIMIT:,}.")
    if options.password is not None and len(options.password) > MAX_PASSWORD:
        raise Invalid(f"A password is at most {MAX_PASSWORD} characters.")
    if options.expires_in is not None and options.expires_in <= timedelta(0):
        raise Invalid("The expiry must be in the future.")
    limit = settings.limits.max_expiry
    if limit is not None and options.expires_in is not None and options.expires_in > limit:
        raise Invalid("The expiry is longer than this instance allows.")
    return options


def needs_password(item: Item, owner_id: int | None) -> bool:
    """Whether the caller must give the item's password: it has one and the caller is not the
    item's owner (an owner opens their own items)."""
    return item.has_password and (owner_id is None or owner_id != item.owner_id)


def shown_to(item: Item, owner_id: int | None) -> Item:
    """The item as a caller may see its metadata without being shown its content (no view is
    spent): its owner sees everything. Anyone else sees no sha256 of a private, protected or
    view-limited item (it would confirm a guessed short secret offline), no size of a
    protected or view-limited one, and not a view-limited link's target (that is its
    content); those fields are None."""
    if owner_id is not None and owner_id == item.owner_id:
        return item
    limited = item.max_views is not None
    hidden: dict[str, None] = {}
    if item.visibility == "private" or item.has_password or limited:
        hidden.update(sha256=None, thumb_sha256=None)
    if item.has_password or limited:
        hidden["size"] = None
    if limited and item.kind == "url":
        hidden["target"] = None
    return replace(item, **hidden) if hidden else item
