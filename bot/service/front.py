"""ContentService: the front every front end calls. It wires the parts and hands each call to
the one that does the work: recording.py, uploads.py, reading.py, listing.py, owning.py,
removing.py, owners.py, guilds.py, reminders.py, blobs.py, and for the web's signed-in people
sessions.py and accounts.py."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import datetime, timedelta
from functools import partial

from bot.config import Settings
from bot.db import Database, instance
from bot.db import items as items_sql
from bot.models import (
    ApiToken,
    BulkAction,
    BulkOutcome,
    Created,
    Item,
    ItemChanges,
    ItemOptions,
    Kind,
    ListFilter,
    Page,
    Stats,
    SweepReport,
    Visibility,
    Visit,
)
from bot.service import blobs, guilds, reminders, search
from bot.service.accounts import Accounts, OwnerPage, TokenInfo, require_admin
from bot.service.blobs import Progress, StoreCopy
from bot.service.cache import ItemCache
from bot.service.core import Core
from bot.service.counting import VisitCounter
from bot.service.grants import Grants
from bot.service.guilds import GuildSettings
from bot.service.ids import SHORT_LENGTH
from bot.service.images import ImageWorker
from bot.service.listing import NO_FILTER, Listing
from bot.service.owners import Owners
from bot.service.owning import Owning
from bot.service.policy import shown_to
from bot.service.ratelimit import RateLimiter
from bot.service.reading import Opened, Reading
from bot.service.recording import DEFAULT_OPTIONS, Recording
from bot.service.reminders import REMINDER_WINDOW, Reminder
from bot.service.removing import Removing
from bot.service.sessions import Account, Resolved, SessionInfo, Sessions, SignedIn
from bot.service.uploads import Uploads
from storage import BlobStore, Stager


class ContentService:
    """Adds, resolves, deletes and sweeps items. Knows nothing of HTTP or Discord."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        store: BlobStore,
        stager: Stager,
        secret: bytes,
        counter: VisitCounter | None = None,
        id_length: int = SHORT_LENGTH,
        blob_grace: timedelta = timedelta(hours=1),
    ) -> None:
        self._secret = secret
        self.db = db
        self.store = store
        self.stager = stager
        self.counter = counter or VisitCounter()
        self.images = ImageWorker()
        self.cache = ItemCache(partial(items_sql.fetch_items, db.read_pool))
        limits = settings.limits
        self.rate_limiter = RateLimiter(
            {"create": limits.rate_create, "read": limits.rate_read, "delete": limits.rate_delete}
        )
        self.core = Core(
            settings=settings,
            db=db,
            store=store,
            stager=stager,
            cache=self.cache,
            counter=self.counter,
            images=self.images,
        )
        self.recording = Recording(self.core, secret, id_length)
        self.uploads = Uploads(self.core, self.recording)
        self.grants = Grants(self.derive_key)
        self.reading = Reading(self.core, self.grants)
        self.removing = Removing(self.core, blob_grace)
        self.owners = Owners(db)
        self.sessions = Sessions(self.core)
        self.accounts = Accounts(self.core)
        self.listing = Listing(self.core)
        self.owning = Owning(self.core)

    # The settings live in the core, where every part reads them; replacing them here (tests
    # do) changes them for all.
    @property
    def settings(self) -> Settings:
        return self.core.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.core.settings = settings

    @property
    def id_length(self) -> int:
        """How many characters a new id starts with (one more on each collision)."""
        return self.recording.id_length

    @id_length.setter
    def id_length(self, length: int) -> None:
        self.recording.id_length = length

    @property
    def blob_grace(self) -> timedelta:
        """How long the sweep keeps a blob no item uses (an upload in flight may want it)."""
        return self.removing.blob_grace

    @blob_grace.setter
    def blob_grace(self, grace: timedelta) -> None:
        self.removing.blob_grace = grace

    async def ping(self) -> None:
        """Raise unless the primary database answers (the health check)."""
        await instance.ping(self.db.pool)

    def check_rate(self, bucket: str, client: str) -> None:
        """Count one `create`, `read` or `delete` for a client (an IP or an owner), or raise
        RateLimited."""
        self.rate_limiter.check(bucket, client)

    def url_for(self, content_id: str) -> str:
        return self.core.url_for(content_id)

    @property
    def own_hosts(self) -> tuple[str, ...]:
        return self.core.own_hosts

    def derive_key(self, purpose: str) -> bytes:
        """A key for one purpose (e.g. signing unlock cookies), derived from the instance secret."""
        return hmac.new(self._secret, b"refbin/" + purpose.encode(), hashlib.sha256).digest()

    # ---- adding: recording.py, uploads.py -------------------------------------------------

    async def add_link(
        self, url: str, *, alias: str | None = None, options: ItemOptions = DEFAULT_OPTIONS
    ) -> Created:
        """Shorten an http(s) link, optionally under a custom alias."""
        return await self.recording.add_link(url, alias=alias, options=options)

    async def add_paste(
        self,
        text: str,
        *,
        language: str | None = None,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
    ) -> Created:
        """Store a paste of UTF-8 text; the language comes from the hint, the name or a guess."""
        return await self.uploads.add_paste(
            text, language=language, filename=filename, options=options
        )

    async def add_upload(
        self,
        chunks: AsyncIterable[bytes],
        *,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
        max_size: int | None = None,
    ) -> Created:
        """Store a streamed file; images (known by their bytes) get dimensions and a thumbnail."""
        return await self.uploads.add_upload(
            chunks, filename=filename, options=options, max_size=max_size
        )

    # ---- reading: reading.py --------------------------------------------------------------

    async def get(self, content_id: str, *, cached: bool = False) -> Item:
        """The item, without counting a view; NotFound or Gone (see Reading.get)."""
        return await self.reading.get(content_id, cached=cached)

    async def resolve(
        self,
        content_id: str,
        *,
        visit: Visit | None = None,
        password: str | None = None,
        unlock: str | None = None,
        client: str = "",
    ) -> Item:
        """The item for a visitor: checks the password (or the `unlock` grant) and counts the
        visit, if any (see Reading.resolve). `client` (an address or a token) is who guesses."""
        return await self.reading.resolve(
            content_id, visit=visit, password=password, unlock=unlock, client=client
        )

    async def open(
        self,
        content_id: str,
        *,
        visit: Visit | None = None,
        password: str | None = None,
        unlock: str | None = None,
        seen: str | None = None,
        client: str = "",
        kind: Kind | None = None,
    ) -> Opened:
        """The item for a caller about to be shown its content: a view-limited item spends a
        view whoever asks, unless `seen` is the caller's fresh SEEN grant (see Reading.open).
        `kind`: NotFound for an item of another kind, before anything is spent."""
        return await self.reading.open(
            content_id,
            visit=visit,
            password=password,
            unlock=unlock,
            seen=seen,
            client=client,
            kind=kind,
        )

    async def unlock(self, content_id: str, password: str | None, *, client: str = "") -> str:
        """An UNLOCK grant (for a browser's cookie) once `password` opens the item."""
        return await self.reading.unlock(content_id, password, client=client)

    async def describe(
        self,
        content_id: str,
        *,
        owner_id: int | None = None,
        password: str | None = None,
        client: str = "",
    ) -> Item:
        """An item's metadata as this caller may see it, spending no view (policy.shown_to)."""
        return await self.reading.describe(
            content_id, owner_id=owner_id, password=password, client=client
        )

    async def check_password(
        self, content_id: str, password: str | None, *, client: str = ""
    ) -> None:
        """PasswordRequired unless `password` opens the item; RateLimited while `client`, or
        everyone, has guessed wrong too often."""
        await self.reading.check_password(content_id, password, client=client)

    def etag_digest(self, item: Item, sha256: str) -> str:
        """What an ETag may carry for these bytes of this item: the sha256 when anyone may
        know it, else a keyed hash of it."""
        if shown_to(item, None).sha256 is not None:
            return sha256
        return self.grants.opaque_digest(sha256)

    def open_blob(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes of a blob, [start, end); FileNotFoundError when the store lacks it."""
        return self.reading.open_blob(sha256, start, end)

    async def reindex(self, progress: search.Progress) -> int:
        """Index the text of pastes stored before the search index (see search.reindex)."""
        return await search.reindex(self.core, self.reading.open_blob, progress)

    async def read_text(self, item: Item) -> str:
        """The whole text of a paste (bounded by the paste limit)."""
        return await self.reading.read_text(item)

    async def stats(self, content_id: str, *, owner_id: int | None, days: int = 30) -> Stats:
        """Visits per day and top referrers, for the item's owner only (NotFound otherwise)."""
        return await self.reading.stats(content_id, owner_id=owner_id, days=days)

    # ---- an owner's items: listing.py, owning.py ------------------------------------------

    async def list_owned(
        self,
        owner_id: int | None,
        filters: ListFilter = NO_FILTER,
        *,
        kind: Kind | None = None,
        cursor: str | None = None,
        limit: int = 20,
        admin: bool = False,
    ) -> Page:
        """An owner's items that pass `filters` (`kind`: a shorthand for its kind filter), a
        page at a time (keyset pagination), newest first, or soonest expiry first when
        filtering by expiry. `owner_id` None with `admin`: every owner's (the operators' view).
        """
        if kind is not None:
            filters = dataclasses.replace(filters, kind=kind)
        return await self.listing.list_owned(
            owner_id, filters, cursor=cursor, limit=limit, admin=admin
        )

    async def update(self, content_id: str, owner_id: int, changes: ItemChanges) -> Item:
        """Change an item's expiry, view limit, visibility or password as its owner (NotFound
        for anyone else; see Owning.update for the rules)."""
        return await self.owning.update(content_id, owner_id, changes)

    async def bulk_change(
        self,
        owner_id: int | None,
        action: BulkAction,
        content_ids: Iterable[str],
        *,
        extend_by: timedelta | None = None,
        visibility: Visibility | None = None,
        admin: bool = False,
    ) -> list[BulkOutcome]:
        """Delete, extend or change the visibility of up to 500 items in one transaction; the
        outcome for each id (someone else's answers not_found, as a missing one does)."""
        return await self.owning.bulk(
            owner_id, action, content_ids, extend_by=extend_by, visibility=visibility, admin=admin
        )

    # ---- removing and extending: removing.py ----------------------------------------------

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
        as the operator; every refusal is the same NotFound."""
        await self.removing.delete(
            content_id,
            owner_id=owner_id,
            delete_token=delete_token,
            moderated_guild_id=moderated_guild_id,
            admin=admin,
        )

    async def may_delete(
        self, content_id: str, *, owner_id: int | None, moderated_guild_id: int | None = None
    ) -> bool:
        """Whether delete() with these rights would succeed (to ask before confirming)."""
        return await self.removing.may_delete(
            content_id, owner_id=owner_id, moderated_guild_id=moderated_guild_id
        )

    async def block(self, content_id: str, reason: str | None) -> None:
        """Block an item for everyone (HTTP 451), or unblock it with reason None."""
        await self.removing.block(content_id, reason)

    async def extend(self, content_id: str, *, owner_id: int, by: timedelta) -> Item:
        """Push a live item's expiry back by `by`, as its owner (NotFound for anyone else)."""
        return await self.removing.extend(content_id, owner_id=owner_id, by=by)

    async def sweep(self, batch: int = 500) -> SweepReport:
        """Remove expired and used-up items, blobs no item uses, and stale temporary files."""
        return await self.removing.sweep(batch)

    # ---- owners and tokens: owners.py -----------------------------------------------------

    async def owner_for_discord_user(self, user_id: int, name: str) -> int:
        """The owner id of a Discord user, made on first use."""
        return await self.owners.owner_for_discord_user(user_id, name)

    async def create_api_token(self, name: str) -> str:
        """A new API token for a new owner called `name`, shown only now; Conflict when a live
        token has the name."""
        return await self.owners.create_api_token(name)

    async def revoke_api_token(self, name: str) -> int:
        """Revoke every live token with this name; how many were revoked."""
        return await self.owners.revoke_api_token(name)

    async def list_api_tokens(self) -> list[ApiToken]:
        """Every live API token, by name: when it was made and last used, never the token."""
        return await self.owners.list_api_tokens()

    async def owner_for_api_token(self, token: str) -> int | None:
        """The owner a bearer token stands for, or None."""
        return await self.owners.owner_for_api_token(token)

    def is_known_token(self, token: str) -> bool:
        """Whether this process has seen the token open an owner (see Owners.is_known_token)."""
        return self.owners.is_known_token(token)

    # ---- the web's signed-in people: sessions.py, accounts.py ------------------------------

    async def sign_in(
        self,
        discord_user_id: int,
        name: str,
        *,
        user_agent: str = "",
        address: str = "",
        replacing: str | None = None,
    ) -> SignedIn:
        """A web session for the owner of a Discord user (the bot's owner for them, made on
        first use); the browser's previous session (`replacing`) ends."""
        return await self.sessions.sign_in(
            discord_user_id, name, user_agent=user_agent, address=address, replacing=replacing
        )

    async def session_account(self, token: str) -> Resolved | None:
        """The account behind a session cookie (renewing it when due), or None."""
        return await self.sessions.resolve(token)

    async def sign_out(self, token: str) -> None:
        """End the session of this cookie."""
        await self.sessions.sign_out(token)

    async def list_sessions(self, owner_id: int, current: str | None = None) -> list[SessionInfo]:
        """The owner's live sessions, the most recently used first."""
        return await self.sessions.of_owner(owner_id, current)

    async def revoke_session(self, owner_id: int, session_id: int) -> None:
        """End one of the owner's sessions; NotFound for anyone else's."""
        await self.sessions.revoke(owner_id, session_id)

    async def revoke_sessions(self, owner_id: int) -> int:
        """Sign the owner out everywhere; how many sessions ended."""
        return await self.sessions.revoke_all(owner_id)

    async def create_owner_token(self, owner_id: int, name: str) -> str:
        """A new API token for an existing owner; the token is shown only now."""
        return await self.accounts.create_token(owner_id, name)

    async def list_owner_tokens(self, owner_id: int) -> list[TokenInfo]:
        """The owner's live API tokens, by name."""
        return await self.accounts.tokens(owner_id)

    async def revoke_owner_token(self, owner_id: int, token_id: int) -> None:
        """Revoke one of the owner's API tokens; NotFound for anyone else's."""
        await self.accounts.revoke_token(owner_id, token_id)

    async def list_owners(self, account: Account, cursor: str | None = None) -> OwnerPage:
        """Every owner with their usage, for an operator (NotFound for anyone else)."""
        return await self.accounts.owners_page(account, cursor)

    async def list_all_items(self, account: Account, cursor: str | None = None) -> Page:
        """Every item, the newest first, for an operator (NotFound for anyone else)."""
        require_admin(account)
        return await self.listing.list_owned(None, cursor=cursor, limit=50, admin=True)

    async def find_any_item(self, account: Account, content_id: str) -> Item | None:
        """Any item by id, blocked or expired too, for an operator (NotFound for anyone else)."""
        return await self.accounts.find_item(account, content_id)

    # ---- Discord servers and expiry reminders: guilds.py, reminders.py --------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings (the defaults until a manager changes one)."""
        return await guilds.load_guild_settings(self.db, guild_id)

    async def save_guild_settings(self, settings: GuildSettings) -> GuildSettings:
        """Check a server's settings against the instance's limits and store them."""
        return await guilds.save_guild_settings(self.db, settings, self.settings.limits)

    async def set_reminders(self, owner_id: int, enabled: bool) -> None:
        """Turn an owner's expiry reminders on or off."""
        await reminders.set_reminders(self.db, owner_id, enabled)

    async def claim_due_reminders(
        self, now: datetime, *, window: timedelta = REMINDER_WINDOW, limit: int = 100
    ) -> list[Reminder]:
        """Reminders for items expiring within `window` after `now`, each claimed (marked
        sent) before it is returned, so no other process or later round returns it again."""
        return await reminders.claim_due_reminders(self.db, now, window, limit)

    async def mark_auto_pasted(self, content_id: str) -> None:
        """The bot pasted this item from chat by itself: it is never reminded."""
        await reminders.mark_auto_pasted(self.db, content_id)

    async def release_reminder(self, content_id: str) -> None:
        """A claimed reminder could not be sent for now: make it due again."""
        await reminders.release_reminder(self.db, content_id)

    # ---- the blobs as a whole: blobs.py ---------------------------------------------------

    async def blob_totals(self) -> tuple[int, int]:
        """How many blobs are stored, and their total size in bytes (each blob once)."""
        return await blobs.blob_totals(self.db)

    async def copy_blobs_to(
        self,
        target: BlobStore,
        stager: Stager,
        *,
        jobs: int = 4,
        verify_existing: bool = False,
        progress: Progress | None = None,
    ) -> StoreCopy:
        """Copy every blob the database lists from this service's store to `target` (staged
        by `stager`), verified by sha256; who uses the blobs that could not be copied."""
        return await blobs.copy_every_blob(
            self.db,
            self.store,
            target,
            stager,
            jobs=jobs,
            verify_existing=verify_existing,
            progress=progress,
        )
