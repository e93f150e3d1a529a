"""The content service: the one place that decides anything about links, pastes and files."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg

from bot import failpoints
from bot.config import Settings
from bot.db import Database, queries
from bot.errors import (
    Blocked,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    PasswordRequired,
    TooLarge,
)
from bot.errors import StorageFull as StorageFullError
from bot.models import KINDS, Created, Item, ItemOptions, Page, Stats, SweepReport, Visit
from bot.service.cache import ItemCache
from bot.service.counting import VisitCounter
from bot.service.guilds import GuildSettings, check_guild_settings
from bot.service.ids import PRIVATE_LENGTH, SHORT_LENGTH, keyed_candidates, random_candidates
from bot.service.images import THUMB_TYPE, ImageFacts, ImageWorker
from bot.service.languages import count_lines, detect_language
from bot.service.links import check_link_allowed, normalise_link
from bot.service.policy import MAX_VIEWS_LIMIT as MAX_VIEWS_LIMIT  # re-exported for the cogs
from bot.service.policy import check_options
from bot.service.ratelimit import RateLimiter
from bot.service.reminders import REMINDER_WINDOW, Reminder
from bot.service.sniff import TEXT_PLAIN, sniff
from bot.service.tokens import hash_password, hash_token, new_token, token_matches, verify_password
from storage import BlobStore, BlobTooLarge, StagedBlob, Stager, StorageFull

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
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
MAX_FILENAME = 255
KNOWN_TOKENS = 10_000  # valid API token hashes remembered for the rate limiter
DEFAULT_OPTIONS = ItemOptions()
# Controls, bidi overrides and lone surrogates (the bytes of a name that was not UTF-8).
_UNSAFE_NAME_CHARS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


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
        self.settings = settings
        self.db = db
        self.store = store
        self.stager = stager
        self.counter = counter or VisitCounter()
        self._secret = secret
        self.id_length = id_length
        self.blob_grace = blob_grace
        limits = settings.limits
        self.images = ImageWorker()
        self.cache = ItemCache(partial(queries.fetch_items, db.read_pool))
        self.rate_limiter = RateLimiter(
            {"create": limits.rate_create, "read": limits.rate_read, "delete": limits.rate_delete}
        )
        self._known_tokens: OrderedDict[bytes, None] = OrderedDict()  # hashes, newest last

    async def ping(self) -> None:
        """Raise unless the primary database answers (the health check)."""
        await queries.ping(self.db.pool)

    def check_rate(self, bucket: str, client: str) -> None:
        """Count one `create`, `read` or `delete` for a client (an IP or an owner), or raise
        RateLimited."""
        self.rate_limiter.check(bucket, client)

    # ---- adding ---------------------------------------------------------------------------

    async def add_link(
        self, url: str, *, alias: str | None = None, options: ItemOptions = DEFAULT_OPTIONS
    ) -> Created:
        """Shorten an http(s) link, optionally under a custom alias."""
        target = normalise_link(url)
        check_link_allowed(target, self.own_hosts, self.settings.limits.blocked_domains)
        if alias is not None:
            alias = self._check_alias(alias)
        digest = hashlib.sha256(target.encode()).digest()

        async def insert_subtype(conn: asyncpg.Connection, content_id: str) -> None:
            await queries.insert_url(conn, content_id, target)

        return await self._add("url", digest, options, insert_subtype, alias=alias)

    async def add_paste(
        self,
        text: str,
        *,
        language: str | None = None,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
    ) -> Created:
        """Store a paste of UTF-8 text; the language comes from the hint, the name or a guess."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        if not text.strip():
            raise Invalid("The paste is empty.")
        if len(data) > self.settings.limits.paste:
            raise TooLarge(f"The paste is larger than {self.settings.limits.paste:,} bytes.")
        if "\x00" in text:
            raise Invalid("The paste contains NUL characters; upload it as a file instead.")
        filename = clean_filename(filename)
        loop = asyncio.get_running_loop()
        detected = await loop.run_in_executor(None, detect_language, text, language, filename)
        await self._check_quota(options.owner_id, len(data))
        staged = await self._stage(self.stager.stage_bytes(data))
        try:
            await self._keep_blob(staged, TEXT_PLAIN)
            lines = count_lines(text)

            async def insert_subtype(conn: asyncpg.Connection, content_id: str) -> None:
                await queries.touch_blob(conn, staged.sha256, staged.size, TEXT_PLAIN)
                await queries.insert_text(
                    conn, content_id, staged.sha256, detected, lines, filename
                )

            digest = bytes.fromhex(staged.sha256)
            return await self._add("text", digest, options, insert_subtype)
        finally:
            await self.stager.discard(staged)

    async def add_upload(
        self,
        chunks: AsyncIterable[bytes],
        *,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
        max_size: int | None = None,
    ) -> Created:
        """Store a streamed file; images (known by their bytes) get dimensions and a thumbnail."""
        limit = self.settings.limits.upload
        if max_size is not None:
            limit = min(limit, max_size)
        filename = clean_filename(filename)
        staged = await self._stage(self.stager.stage(chunks, limit))
        thumb: StagedBlob | None = None
        try:
            await self._check_quota(options.owner_id, staged.size)
            media_type = sniff(staged.head)
            facts: ImageFacts | None = None
            if media_type in IMAGE_TYPES:
                facts = await self.images.thumbnail(staged.path)
                if facts.cleaned_path is not None:
                    # What is stored and served is the image without where it was taken.
                    original = staged
                    staged = await self._stage(self.stager.stage_file(facts.cleaned_path))
                    await self.stager.discard(original)
                thumb = await self._stage(self.stager.stage_bytes(facts.thumbnail))
                await self._keep_blob(thumb, THUMB_TYPE)
            failpoints.reach("upload.staged")
            await self._keep_blob(staged, media_type)
            failpoints.reach("upload.renamed")

            async def insert_subtype(conn: asyncpg.Connection, content_id: str) -> None:
                await queries.touch_blob(conn, staged.sha256, staged.size, media_type)
                if facts is None or thumb is None:
                    await queries.insert_file(conn, content_id, staged.sha256, filename)
                    return
                await queries.touch_blob(conn, thumb.sha256, thumb.size, THUMB_TYPE)
                await queries.insert_image(
                    conn,
                    content_id,
                    staged.sha256,
                    facts.width,
                    facts.height,
                    thumb.sha256,
                    filename,
                )

            kind = "file" if facts is None else "image"
            created = await self._add(kind, bytes.fromhex(staged.sha256), options, insert_subtype)
            failpoints.reach("upload.committed")
            return created
        finally:
            await self.stager.discard(staged)
            if thumb is not None:
                await self.stager.discard(thumb)

    async def _check_quota(self, owner_id: int | None, size: int) -> None:
        quota = self.settings.limits.quota
        if not quota or owner_id is None:
            return
        used = await queries.owner_usage(self.db.pool, owner_id)
        if used + size > quota:
            raise TooLarge(
                f"This would take you past your storage quota of {quota:,} bytes "
                f"({used:,} bytes used)."
            )

    async def _stage(self, staging: Awaitable[StagedBlob]) -> StagedBlob:
        try:
            return await staging
        except BlobTooLarge as exc:
            raise TooLarge(f"The upload is larger than the limit of {exc.limit:,} bytes.") from None
        except StorageFull:
            raise StorageFullError("The storage is full; nothing was stored.") from None

    async def _keep_blob(self, staged: StagedBlob, media_type: str) -> None:
        """Record the blob (marking it fresh, so the sweep leaves it) and commit its bytes.

        Committing always writes: a damaged copy is repaired by the next upload of the bytes.
        """
        await queries.touch_blob(self.db.pool, staged.sha256, staged.size, media_type)
        try:
            await self.store.commit(staged)
        except StorageFull:
            raise StorageFullError("The storage is full; nothing was stored.") from None

    async def _add(
        self,
        kind: str,
        digest: bytes,
        options: ItemOptions,
        insert_subtype: Callable[[asyncpg.Connection, str], Awaitable[None]],
        *,
        alias: str | None = None,
    ) -> Created:
        options = self._check_options(options)
        token = new_token()
        password_hash = None
        if options.password:
            loop = asyncio.get_running_loop()
            password_hash = await loop.run_in_executor(None, hash_password, options.password)
        expires_at = self._expiry(options)
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
        async with self.db.pool.acquire() as conn, conn.transaction():
            for content_id in self._candidates(kind, digest, options, alias):
                async with conn.transaction():
                    if await queries.insert_ref(conn, content_id=content_id, **fields):
                        await insert_subtype(conn, content_id)
                        created = True
                        break
                    existing = await queries.fetch_identity(conn, content_id)
                    same = existing is not None and (
                        existing["kind"] == kind
                        and existing["owner_id"] == options.owner_id
                        and existing["digest"] == digest
                    )
                    if same and existing is not None and options.owner_id is not None:
                        if existing["gone"]:
                            await queries.renew_ref(
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
            item = await queries.fetch_item(conn, content_id)
        assert item is not None
        return Created(
            item=item,
            url=self.url_for(content_id),
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

    def _check_alias(self, alias: str) -> str:
        alias = alias.strip()
        if not ALIAS_PATTERN.match(alias):
            raise Invalid(
                "An alias is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit."
            )
        if alias.lower() in RESERVED:
            raise Invalid(f"The alias {alias!r} is reserved.")
        return alias

    def _check_options(self, options: ItemOptions) -> ItemOptions:
        return check_options(self.settings, options)

    def _expiry(self, options: ItemOptions) -> datetime | None:
        expires_in = options.expires_in or self.settings.limits.default_expiry
        if expires_in is None:
            expires_in = self.settings.limits.max_expiry
        return None if expires_in is None else datetime.now(UTC) + expires_in

    # ---- reading --------------------------------------------------------------------------

    async def get(self, content_id: str, *, cached: bool = False) -> Item:
        """The item, without counting a view; NotFound or Gone.

        `cached` serves it from the item cache (visitors): its view count may then be some
        seconds old, but never a delete, a block or its expiry (see bot/service/cache.py).
        """
        if not ID_PATTERN.match(content_id):
            raise NotFound()
        if cached:
            item = await self.cache.get(content_id)
        else:
            item = await queries.fetch_item(self.db.read_pool, content_id)
        if self.db.read_pool is not self.db.pool and (item is None or item.max_views is not None):
            # A replica lags: a view-limited item is decided on the primary, and an id the
            # replica does not know yet may have been added a moment ago.
            item = await queries.fetch_item(self.db.pool, content_id)
        if item is None:
            raise NotFound()
        if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
            raise Gone()
        if item.max_views is not None and item.views >= item.max_views:
            raise Gone("This item has been viewed as many times as it was allowed.")
        if item.blocked_reason is not None:
            raise Blocked(f"This item is blocked on this instance: {item.blocked_reason}")
        if item.target is not None and self.settings.limits.blocked_domains:
            check_link_allowed(item.target, (), self.settings.limits.blocked_domains)
        return item

    async def resolve(
        self,
        content_id: str,
        *,
        visit: Visit | None = None,
        password: str | None = None,
        unlocked: bool = False,
    ) -> Item:
        """The item for a visitor: checks the password and counts the visit (when given one).
        `unlocked`: the caller proved the password earlier (a signed unlock cookie).

        A view-limited item is counted at once and atomically, so it is served at most
        max_views times; other visits are counted in memory and flushed in batches.
        """
        item = await self.get(content_id, cached=True)
        if item.has_password and not unlocked:
            await self.check_password(content_id, password)
        if visit is not None:
            limited = item.max_views is not None
            if limited and not await queries.take_view(self.db.pool, content_id):
                raise Gone("This item has been viewed as many times as it was allowed.")
            self.counter.add(content_id, visit.referrer, view_counted=limited)
        return item

    async def check_password(self, content_id: str, password: str | None) -> None:
        """PasswordRequired unless `password` opens the item."""
        if not password:
            raise PasswordRequired()
        # From the primary: an item a replica has not seen yet must still open.
        stored = await queries.fetch_password_hash(self.db.pool, content_id)
        loop = asyncio.get_running_loop()
        if stored is None or not await loop.run_in_executor(
            None, verify_password, password, stored
        ):
            raise PasswordRequired("The password is wrong.")

    def open_blob(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes of a blob, [start, end)."""
        return self.store.open(sha256, start, end)

    async def read_text(self, item: Item) -> str:
        """The whole text of a paste (bounded by the paste limit)."""
        if item.kind != "text" or item.sha256 is None:
            raise Invalid("Not a paste.")
        parts = [chunk async for chunk in self.store.open(item.sha256)]
        return b"".join(parts).decode("utf-8", "replace")

    async def list_owned(
        self, owner_id: int, *, kind: str | None = None, cursor: str | None = None, limit: int = 20
    ) -> Page:
        """An owner's items, newest first, a page at a time (keyset pagination)."""
        if kind is not None and kind not in KINDS:
            raise Invalid(f"Kind is one of {', '.join(KINDS)}.")
        limit = max(1, min(limit, 100))
        after = _decode_cursor(cursor) if cursor else None
        items = await queries.list_owned(self.db.read_pool, owner_id, kind, after, limit + 1)
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            next_cursor = _encode_cursor(last.created_at, last.content_id)
        return Page(items=tuple(items), next_cursor=next_cursor)

    async def stats(self, content_id: str, *, owner_id: int | None, days: int = 30) -> Stats:
        """Visits per day and top referrers, for the item's owner only (NotFound otherwise)."""
        item = None
        if ID_PATTERN.match(content_id):
            item = await queries.fetch_item(self.db.read_pool, content_id)
        if item is None or owner_id is None or item.owner_id != owner_id:
            raise NotFound("No such item, or it is not yours.")
        days = max(1, min(days, 366))
        per_day = await queries.visits_per_day(self.db.read_pool, content_id, days)
        referrers = await queries.top_referrers(self.db.read_pool, content_id, days, 10)
        return Stats(
            content_id=content_id,
            views=item.views,
            per_day=tuple((row["day"], row["count"]) for row in per_day),
            referrers=tuple((row["referrer"], row["count"]) for row in referrers),
        )

    # ---- removing -------------------------------------------------------------------------

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
        async with self.db.pool.acquire() as conn, conn.transaction():
            rights = await queries.fetch_delete_rights(conn, content_id)
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
            await queries.delete_ref(conn, content_id)
            await queries.notify_invalidate(conn, content_id)
        self.cache.invalidate(content_id)

    async def sweep(self, batch: int = 500) -> SweepReport:
        """Remove expired and used-up items, blobs no item uses, and stale temporary files."""
        expired = 0
        while True:
            async with self.db.pool.acquire() as conn, conn.transaction():
                removed = await queries.delete_expired(conn, batch)
            expired += len(removed)
            if len(removed) < batch:
                break
        grace = int(self.blob_grace.total_seconds())
        blobs_removed = 0
        while True:
            # The bytes are deleted while the row is still locked, before the commit: an upload
            # of the same bytes waits on that lock and then writes them anew.
            async with self.db.pool.acquire() as conn, conn.transaction():
                shas = await queries.claim_unused_blobs(conn, grace, batch)
                for sha in shas:
                    await self.store.delete(sha)
            blobs_removed += len(shas)
            if len(shas) < batch:
                break
        loop = asyncio.get_running_loop()
        temp_removed = await loop.run_in_executor(
            None, partial(self.stager.sweep, older_than=max(grace, 60))
        )
        return SweepReport(expired, blobs_removed, temp_removed)

    async def block(self, content_id: str, reason: str | None) -> None:
        """Block an item for everyone (HTTP 451), or unblock it with reason None."""
        if reason is not None and not 0 < len(reason.strip()) <= 500:
            raise Invalid("A block reason is 1 to 500 characters.")
        if not ID_PATTERN.match(content_id) or not await queries.set_blocked(
            self.db.pool, content_id, reason.strip() if reason else None
        ):
            raise NotFound()
        await queries.notify_invalidate(self.db.pool, content_id)
        self.cache.invalidate(content_id)

    # ---- owners and tokens ----------------------------------------------------------------

    async def owner_for_discord_user(self, user_id: int, name: str) -> int:
        """The owner id of a Discord user, made on first use."""
        return await queries.owner_for_discord_user(self.db.pool, user_id, name)

    async def create_api_token(self, name: str) -> str:
        """A new API token for a new owner called `name`; the token is shown only now."""
        name = name.strip()
        if not 0 < len(name) <= 100:
            raise Invalid("A token name is 1 to 100 characters.")
        token = new_token()
        async with self.db.pool.acquire() as conn, conn.transaction():
            owner_id = await queries.create_owner(conn, name)
            await queries.insert_api_token(conn, owner_id, name, hash_token(token))
        return token

    async def revoke_api_token(self, name: str) -> int:
        """Revoke every live token with this name; how many were revoked."""
        return await queries.revoke_api_tokens(self.db.pool, name)

    async def owner_for_api_token(self, token: str) -> int | None:
        """The owner a bearer token stands for, or None."""
        token_hash = hash_token(token)
        owner_id = await queries.owner_for_token(self.db.read_pool, token_hash)
        if owner_id is not None:
            self._known_tokens[token_hash] = None
            self._known_tokens.move_to_end(token_hash)
            if len(self._known_tokens) > KNOWN_TOKENS:
                self._known_tokens.popitem(last=False)
        return owner_id

    def is_known_token(self, token: str) -> bool:
        """Whether this process has seen the token open an owner. The rate limiter counts a
        bearer against its token only then: an invented token must not buy a fresh bucket."""
        return hash_token(token) in self._known_tokens

    # ---- addresses ------------------------------------------------------------------------

    def url_for(self, content_id: str) -> str:
        return f"{self.settings.server.base_url}/{content_id}"

    @property
    def own_hosts(self) -> tuple[str, ...]:
        from urllib.parse import urlsplit

        urls = (self.settings.server.base_url, self.settings.server.content_url)
        return tuple(urlsplit(u).hostname or "" for u in urls if u)

    # ---- web access -----------------------------------------------------------------------

    def derive_key(self, purpose: str) -> bytes:
        """A key for one purpose (e.g. signing unlock cookies), derived from the instance secret."""
        return hmac.new(self._secret, b"refbin/" + purpose.encode(), hashlib.sha256).digest()

    # ---- metrics --------------------------------------------------------------------------

    async def blob_totals(self) -> tuple[int, int]:
        """How many blobs are stored, and their total size in bytes (each blob once)."""
        row = await queries.blob_totals(self.db.read_pool)
        return row["blobs"], row["bytes"]

    # ---- Discord: server settings, expiry reminders, extending ----------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings (the defaults until a manager changes one)."""
        row = await queries.fetch_guild_settings(self.db.pool, guild_id)
        return GuildSettings(guild_id=guild_id) if row is None else GuildSettings.from_row(row)

    async def save_guild_settings(self, settings: GuildSettings) -> GuildSettings:
        """Check a server's settings against the instance's limits and store them."""
        check_guild_settings(settings, self.settings.limits)
        row = await queries.upsert_guild_settings(
            self.db.pool,
            guild_id=settings.guild_id,
            auto_paste_channels=settings.auto_paste_channels,
            auto_paste_min_lines=settings.auto_paste_min_lines,
            auto_paste_delete=settings.auto_paste_delete,
            default_expiry=settings.default_expiry,
            allowed_kinds=settings.allowed_kinds,
            upload_limit=settings.upload_limit,
        )
        return GuildSettings.from_row(row)

    async def may_delete(
        self, content_id: str, *, owner_id: int | None, moderated_guild_id: int | None = None
    ) -> bool:
        """Whether delete() with these rights would succeed (to ask before confirming)."""
        if not ID_PATTERN.match(content_id):
            return False
        item = await queries.fetch_item(self.db.pool, content_id)
        return item is not None and (
            (owner_id is not None and item.owner_id == owner_id)
            or (moderated_guild_id is not None and item.guild_id == moderated_guild_id)
        )

    async def extend(self, content_id: str, *, owner_id: int, by: timedelta) -> Item:
        """Push a live item's expiry back by `by`, as its owner (NotFound for anyone else)."""
        if not ID_PATTERN.match(content_id):
            raise NotFound()
        now = datetime.now(UTC)
        limit = self.settings.limits.max_expiry
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await queries.fetch_expiry_for_update(conn, content_id)
            if row is None or row["owner_id"] != owner_id:
                raise NotFound("No such item, or it is not yours.")
            if row["expires_at"] is None:
                raise Invalid("This item never expires.")
            if row["expires_at"] <= now:
                raise Gone()
            expires_at = row["expires_at"] + by
            if limit is not None and expires_at > now + limit:
                raise Invalid("That would keep it longer than this instance allows.")
            await queries.set_expiry(conn, content_id, expires_at)
            await queries.notify_invalidate(conn, content_id)
            item = await queries.fetch_item(conn, content_id)
        self.cache.invalidate(content_id)  # this process at once, the others by the NOTIFY
        assert item is not None
        return item

    async def set_reminders(self, owner_id: int, enabled: bool) -> None:
        """Turn an owner's expiry reminders on or off."""
        await queries.set_owner_reminders(self.db.pool, owner_id, enabled)

    async def claim_due_reminders(
        self, now: datetime, *, window: timedelta = REMINDER_WINDOW, limit: int = 100
    ) -> list[Reminder]:
        """Reminders for items expiring within `window` after `now`, each claimed (marked
        sent) before it is returned, so no other process or later round returns it again."""
        rows = await queries.claim_due_reminders(self.db.pool, now, window, limit)
        return [
            Reminder(r["content_id"], r["kind"], r["discord_user_id"], r["expires_at"])
            for r in rows
        ]

    async def release_reminder(self, content_id: str) -> None:
        """A claimed reminder could not be sent for now: make it due again."""
        await queries.release_reminder(self.db.pool, content_id)


def clean_filename(name: str | None) -> str | None:
    """A display name from what a client sent: no folders, controls or bidi tricks, 255 chars."""
    if name is None:
        return None
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("", name).strip().lstrip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep = ext[:16] if dot and len(ext) <= 16 else ""
        name = name[: MAX_FILENAME - len(keep) - 1] + ("." + keep if keep else "")
    return name or None


def _encode_cursor(created_at: datetime, content_id: str) -> str:
    return f"{created_at.timestamp():.6f}.{content_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        seconds, _, micros_and_id = cursor.partition(".")
        micros, _, content_id = micros_and_id.partition(".")
        stamp = datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        raise Invalid("The page cursor is not valid.") from None
    if not ID_PATTERN.match(content_id):
        raise Invalid("The page cursor is not valid.")
    return stamp, content_id
