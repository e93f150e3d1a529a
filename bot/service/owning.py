"""What an owner changes on their items: expiry, view limit, visibility and password, on one item
or (delete, extend, visibility) on many at once.

Every refusal of someone else's item is the NotFound of an item that does not exist, so ids of
private items are never confirmed. Each change is told to every process's item cache (NOTIFY, as
extend and delete do). An item keeps its id whatever its visibility becomes: a private item has a
long id because it was made private; one made private later keeps its short one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bot.db import changes, items
from bot.db.changes import ItemState
from bot.db.invalidation import notify_invalidate
from bot.errors import Gone, Invalid, NotFound, RefbinError
from bot.models import (
    BULK_ACTIONS,
    KEEP,
    VISIBILITIES,
    BulkAction,
    BulkOutcome,
    Item,
    ItemChanges,
    Keep,
    Visibility,
)
from bot.service.core import Core
from bot.service.ids import ID_PATTERN
from bot.service.policy import MAX_PASSWORD, MAX_VIEWS_LIMIT
from bot.service.tokens import hash_password
from bot.units import format_duration

MAX_BULK = 500
NOT_YOURS = "No such item, or it is not yours."
NOTHING_TO_CHANGE = "Nothing to change: give an expiry, a view limit, a visibility or a password."
LONGER_THAN_ALLOWED = "That would keep it longer than this instance allows."


class Owning:
    """Changes items as their owner (or, for bulk deletes, as an operator)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def update(self, content_id: str, owner_id: int, changes_asked: ItemChanges) -> Item:
        """Change an item as its owner; NotFound for anyone else, Gone for an item that has
        expired or been used up, Invalid naming the first change the rules refuse."""
        check_changes(changes_asked)
        if owner_id is None or not ID_PATTERN.match(content_id):
            raise NotFound(NOT_YOURS)
        password_hash: str | None | Keep = changes_asked.password
        if isinstance(password_hash, str):  # slow on purpose: not in the loop, nor a lock held
            loop = asyncio.get_running_loop()
            password_hash = await loop.run_in_executor(None, hash_password, password_hash)
        async with self.core.db.pool.acquire() as conn, conn.transaction():
            rows = await changes.lock_items(conn, [content_id])
            if not rows or rows[0].owner_id != owner_id:
                raise NotFound(NOT_YOURS)
            state = rows[0]
            if state.gone:
                raise Gone("This item has expired or been used up; it cannot be changed.")
            await changes.change_item(
                conn,
                content_id,
                expires_at=self._new_expiry(state, changes_asked),
                max_views=_new_view_limit(state, changes_asked.max_views),
                visibility=changes_asked.visibility,
                password_hash=password_hash,
            )
            await notify_invalidate(conn, content_id)
            item = await items.fetch_item(conn, content_id)
        self.core.cache.invalidate(content_id)  # this process at once, the others by the NOTIFY
        assert item is not None
        return item

    async def bulk(
        self,
        owner_id: int | None,
        action: BulkAction,
        content_ids: Iterable[str],
        *,
        extend_by: timedelta | None = None,
        visibility: Visibility | None = None,
        admin: bool = False,
    ) -> list[BulkOutcome]:
        """Delete, extend (by `extend_by`) or change the visibility of many items in one
        transaction; what happened to each id, in the order given (repeats once). An id that is
        not the owner's is `not_found`, like one that does not exist; `admin` may delete any."""
        ids = list(dict.fromkeys(content_ids))
        _check_bulk(owner_id, action, ids, extend_by, visibility, admin)
        outcomes: dict[str, BulkOutcome] = {}
        done: list[str] = []
        async with self.core.db.pool.acquire() as conn, conn.transaction():
            states = await changes.lock_items(conn, [i for i in ids if ID_PATTERN.match(i)])
            by_id = {state.content_id: state for state in states}
            new_expiries: list[datetime] = []
            for content_id in ids:
                state = by_id.get(content_id)
                try:
                    if state is None or not (admin or state.owner_id == owner_id):
                        raise NotFound(NOT_YOURS)
                    if action != "delete" and state.gone:
                        raise Gone("This item has expired or been used up.")
                    if extend_by is not None:
                        new_expiries.append(self._extended(state, extend_by))
                except RefbinError as refused:
                    outcomes[content_id] = BulkOutcome(
                        content_id, False, refused.code, refused.message
                    )
                else:
                    outcomes[content_id] = BulkOutcome(content_id, True)
                    done.append(content_id)
            if done:
                if action == "delete":
                    await changes.delete_items(conn, done)
                elif action == "extend":
                    await changes.set_expiries(conn, done, new_expiries)
                else:
                    assert visibility is not None
                    await changes.set_visibility(conn, done, visibility)
                await changes.notify_invalidate_many(conn, done)
        for content_id in done:
            self.core.cache.invalidate(content_id)
        return [outcomes[content_id] for content_id in ids]

    def _new_expiry(self, state: ItemState, asked: ItemChanges) -> datetime | None | Keep:
        """The expiry an update sets (KEEP: none asked for), within the instance's maximum."""
        if asked.extend_by is not None:
            return self._extended(state, asked.extend_by)
        if asked.expires_in is KEEP:
            return KEEP
        limit = self.core.settings.limits.max_expiry
        if asked.expires_in is None:
            if limit is not None:
                raise Invalid(
                    f"Items on this instance expire within {format_duration(limit)}; "
                    "they cannot be kept forever."
                )
            return None
        if limit is not None and asked.expires_in > limit:
            raise Invalid(LONGER_THAN_ALLOWED)
        return datetime.now(UTC) + asked.expires_in

    def _extended(self, state: ItemState, by: timedelta) -> datetime:
        """The item's expiry pushed back by `by`, within the instance's maximum."""
        if state.expires_at is None:
            raise Invalid("This item never expires.")
        expires_at: datetime = state.expires_at + by
        limit = self.core.settings.limits.max_expiry
        if limit is not None and expires_at > datetime.now(UTC) + limit:
            raise Invalid(LONGER_THAN_ALLOWED)
        return expires_at


def check_changes(asked: ItemChanges) -> None:
    """Invalid naming the first change no item could take (the item's own rules come later)."""
    if (
        asked.expires_in is KEEP
        and asked.extend_by is None
        and asked.max_views is KEEP
        and asked.visibility is KEEP
        and asked.password is KEEP
    ):
        raise Invalid(NOTHING_TO_CHANGE)
    if asked.extend_by is not None and asked.expires_in is not KEEP:
        raise Invalid("Set the expiry or extend it, not both.")
    for delta in (asked.expires_in, asked.extend_by):
        if isinstance(delta, timedelta) and delta <= timedelta(0):
            raise Invalid("The expiry must be in the future.")
    views = asked.max_views
    if isinstance(views, int) and not 0 < views <= MAX_VIEWS_LIMIT:
        raise Invalid(f"The view limit is a number from 1 to {MAX_VIEWS_LIMIT:,}.")
    if asked.visibility is not KEEP and asked.visibility not in VISIBILITIES:
        raise Invalid("Visibility is public, unlisted or private.")
    if isinstance(asked.password, str) and not 0 < len(asked.password) <= MAX_PASSWORD:
        raise Invalid(f"A password is 1 to {MAX_PASSWORD} characters (none removes it).")


def _new_view_limit(state: ItemState, asked: int | None | Keep) -> int | None | Keep:
    """A view limit above the views the item has had (else it would be used up at once)."""
    if isinstance(asked, int) and asked <= state.views:
        raise Invalid(f"The view limit must be more than the {state.views:,} views it has had.")
    return asked


def _check_bulk(
    owner_id: int | None,
    action: str,
    ids: list[str],
    extend_by: timedelta | None,
    visibility: str | None,
    admin: bool,
) -> None:
    if action not in BULK_ACTIONS:
        raise Invalid(f"The action is one of {', '.join(BULK_ACTIONS)}.")
    if not ids:
        raise Invalid("Name at least one item.")
    if len(ids) > MAX_BULK:
        raise Invalid(f"At most {MAX_BULK} items at once.")
    if owner_id is None and not admin:
        raise Invalid("Only an owner or an operator changes items in bulk.")
    if admin and action != "delete":
        raise Invalid("Operators delete in bulk; other changes are their owners'.")
    if (action == "extend") != (extend_by is not None):
        raise Invalid("Extending needs a duration, and only extending takes one.")
    if extend_by is not None and extend_by <= timedelta(0):
        raise Invalid("The expiry must be in the future.")
    if (action == "visibility") != (visibility is not None):
        raise Invalid("Changing the visibility needs one, and only that action takes one.")
    if visibility is not None and visibility not in VISIBILITIES:
        raise Invalid("Visibility is public, unlisted or private.")
