"""Removing items and changing how long they live: delete, block, extend, and the sweep of
expired items, unused blobs and stale temporary files."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.db import blobs, items
from bot.db.invalidation import notify_invalidate
from bot.errors import Gone, Invalid, NotFound
from bot.models import Item, SweepReport
from bot.service.core import Core, store_outage
from bot.service.ids import ID_PATTERN
from bot.service.tokens import token_matches


class Removing:
    """Deletes, blocks and extends items, each change told to every process's item cache."""

    def __init__(self, core: Core, blob_grace: timedelta) -> None:
        self.core = core
        self.blob_grace = blob_grace  # how long an unused blob is kept (an upload may want it)

    async def delete(
        self,
        content_id: str,
        *,
        owner_id: int | None = None,
        delete_token: str | None = None,
        moderated_guild_id: int | None = None,
        admin: bool = False,
    ) -> None:
        """Delete an item as its owner, with its delete token, as a moderator of its guild, or
        as the operator. Every refusal is the same NotFound, so nothing leaks about the item.
        """
        refusal = NotFound("No such item, or it is not yours to delete.")
        if not ID_PATTERN.match(content_id):
            raise refusal
        async with self.core.db.pool.acquire() as conn, conn.transaction():
            rights = await items.fetch_delete_rights(conn, content_id)
            allowed = rights is not None and (
                admin
                or (owner_id is not None and rights["owner_id"] == owner_id)
                or (
                    delete_token is not None
                    and token_matches(delete_token, rights["delete_token_hash"])
                )
                or (moderated_guild_id is not None and rights["guild_id"] == moderated_guild_id)
            )
            if not allowed:
                raise refusal
            await items.delete_ref(conn, content_id)
            await notify_invalidate(conn, content_id)
        self.core.cache.invalidate(content_id)

    async def may_delete(
        self, content_id: str, *, owner_id: int | None, moderated_guild_id: int | None = None
    ) -> bool:
        """Whether delete() with these rights would succeed (to ask before confirming)."""
        if not ID_PATTERN.match(content_id):
            return False
        item = await items.fetch_item(self.core.db.pool, content_id)
        return item is not None and (
            (owner_id is not None and item.owner_id == owner_id)
            or (moderated_guild_id is not None and item.guild_id == moderated_guild_id)
        )

    async def block(self, content_id: str, reason: str | None) -> None:
        """Block an item for everyone (HTTP 451), or unblock it with reason None."""
        if reason is not None and not 0 < len(reason.strip()) <= 500:
            raise Invalid("A block reason is 1 to 500 characters.")
        pool = self.core.db.pool
        if not ID_PATTERN.match(content_id) or not await items.set_blocked(
            pool, content_id, reason.strip() if reason else None
        ):
            raise NotFound()
        await notify_invalidate(pool, content_id)
        self.core.cache.invalidate(content_id)

    async def extend(self, content_id: str, *, owner_id: int, by: timedelta) -> Item:
        """Push a live item's expiry back by `by`, as its owner (NotFound for anyone else)."""
        if not ID_PATTERN.match(content_id):
            raise NotFound()
        now = datetime.now(UTC)
        limit = self.core.settings.limits.max_expiry
        async with self.core.db.pool.acquire() as conn, conn.transaction():
            row = await items.fetch_expiry_for_update(conn, content_id)
            if row is None or row["owner_id"] != owner_id:
                raise NotFound("No such item, or it is not yours.")
            if row["expires_at"] is None:
                raise Invalid("This item never expires.")
            if row["expires_at"] <= now:
                raise Gone()
            expires_at = row["expires_at"] + by
            if limit is not None and expires_at > now + limit:
                raise Invalid("That would keep it longer than this instance allows.")
            await items.set_expiry(conn, content_id, expires_at)
            await notify_invalidate(conn, content_id)
            item = await items.fetch_item(conn, content_id)
        self.core.cache.invalidate(content_id)  # this process at once, the others by the NOTIFY
        assert item is not None
        return item

    async def sweep(self, batch: int = 500) -> SweepReport:
        """Remove expired and used-up items, blobs no item uses, and stale temporary files."""
        pool = self.core.db.pool
        expired = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                removed = await items.delete_expired(conn, batch)
            expired += len(removed)
            if len(removed) < batch:
                break
        grace = int(self.blob_grace.total_seconds())
        blobs_removed = 0
        while True:
            # The bytes are deleted while the row is still locked, before the commit: an upload
            # of the same bytes waits on that lock and then writes them anew.
            async with pool.acquire() as conn, conn.transaction():
                shas = await blobs.claim_unused_blobs(conn, grace, batch)
                with store_outage():
                    for sha in shas:
                        await self.core.store.delete(sha)
            blobs_removed += len(shas)
            if len(shas) < batch:
                break
        loop = asyncio.get_running_loop()
        temp_removed = await loop.run_in_executor(
            None, partial(self.core.stager.sweep, older_than=max(grace, 60))
        )
        return SweepReport(expired, blobs_removed, temp_removed)
