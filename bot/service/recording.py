"""Recording an item: its options checked, its id chosen, its rows inserted in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from bot.config import LimitSettings
from bot.db import Connection, items
from bot.db import search as db_search
from bot.errors import Conflict, Invalid
from bot.models import Created, ItemOptions
from bot.service import passwords
from bot.service.core import Core
from bot.service.ids import (
    ALIAS_PATTERN,
    PRIVATE_LENGTH,
    RESERVED,
    keyed_candidates,
    random_candidates,
)
from bot.service.links import check_link_allowed, normalise_link
from bot.service.policy import check_options
from bot.service.search import names_of
from bot.service.tokens import hash_token, new_token

DEFAULT_OPTIONS = ItemOptions()

# Inserts an item's subtype row (and records its blobs), in the transaction of its refs row.
InsertSubtype = Callable[[Connection, str], Awaitable[None]]


class Recording:
    """Records items under ids that are keyed to their content and owner (or random)."""

    def __init__(self, core: Core, secret: bytes, id_length: int) -> None:
        self.core = core
        self._secret = secret
        self.id_length = id_length

    async def add_link(
        self, url: str, *, alias: str | None = None, options: ItemOptions = DEFAULT_OPTIONS
    ) -> Created:
        """Shorten an http(s) link, optionally under a custom alias."""
        target = normalise_link(url)
        check_link_allowed(target, self.core.own_hosts, self.core.settings.limits.blocked_domains)
        if alias is not None:
            alias = check_alias(alias)
        digest = hashlib.sha256(target.encode()).digest()

        async def insert_subtype(conn: Connection, content_id: str) -> None:
            await items.insert_url(conn, content_id, target)
            await db_search.index_item(conn, content_id, names=names_of(content_id, target))

        return await self.record("url", digest, options, insert_subtype, alias=alias)

    async def record(
        self,
        kind: str,
        digest: bytes,
        options: ItemOptions,
        insert_subtype: InsertSubtype,
        *,
        alias: str | None = None,
    ) -> Created:
        """Insert an item under the first free id of its candidates.

        The same content from the same owner lands on the same id: it is returned as it is
        (created=False), or given a new life with these options when it had expired.
        """
        limits = self.core.settings.limits
        check_options(self.core.settings, options)
        token = new_token()
        password_hash = None
        if options.password:
            password_hash = await passwords.hash_password(options.password)
        expires_at = expiry(options, limits)
        fields = {
            "kind": kind,
            "digest": digest,
            "owner_id": options.owner_id,
            "guild_id": options.guild_id,
            "visibility": options.visibility,
            "expires_at": expires_at,
            "max_views": options.max_views,
            "delete_token_hash": hash_token(token),
            "password_hash": password_hash,
        }
        async with self.core.db.pool.acquire() as conn, conn.transaction():
            for content_id in self._candidates(kind, digest, options, alias):
                async with conn.transaction():
                    if await items.insert_ref(conn, content_id=content_id, **fields):
                        await insert_subtype(conn, content_id)
                        created = True
                        break
                    existing = await items.fetch_identity(conn, content_id)
                    same = existing is not None and (
                        existing["kind"] == kind
                        and existing["owner_id"] == options.owner_id
                        and existing["digest"] == digest
                    )
                    if same and existing is not None and options.owner_id is not None:
                        if existing["gone"]:
                            await items.renew_ref(
                                conn,
                                content_id,
                                visibility=options.visibility,
                                expires_at=expires_at,
                                max_views=options.max_views,
                                delete_token_hash=fields["delete_token_hash"],
                                password_hash=password_hash,
                            )
                            created = True
                        else:
                            created = False
                        break
                    if alias is not None:
                        raise Conflict(f"The alias {alias!r} is taken.")
            else:
                raise Conflict("No free id was found; try again.")
            item = await items.fetch_item(conn, content_id)
        assert item is not None
        return Created(
            item=item,
            url=self.core.url_for(content_id),
            delete_token=token if created else None,
            created=created,
        )

    def _candidates(
        self, kind: str, digest: bytes, options: ItemOptions, alias: str | None
    ) -> Iterable[str]:
        if alias is not None:
            return [alias]
        if options.visibility == "private":
            candidates = random_candidates(max(PRIVATE_LENGTH, self.id_length))
        elif options.owner_id is None:
            candidates = random_candidates(self.id_length)
        else:
            candidates = keyed_candidates(
                self._secret, kind, options.owner_id, digest, self.id_length
            )
        return (c for c in candidates if c.lower() not in RESERVED)


def check_alias(alias: str) -> str:
    """The alias, stripped; Invalid unless it has the form of one and is not reserved."""
    alias = alias.strip()
    if not ALIAS_PATTERN.match(alias):
        raise Invalid(
            "An alias is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit."
        )
    if alias.lower() in RESERVED:
        raise Invalid(f"The alias {alias!r} is reserved.")
    return alias


def expiry(options: ItemOptions, limits: LimitSettings) -> datetime | None:
    """When a new item expires: as asked, else the instance's default, else its maximum."""
    expires_in = options.expires_in or limits.default_expiry
    if expires_in is None:
        expires_in = limits.max_expiry
    return None if expires_in is None else datetime.now(UTC) + expires_in
