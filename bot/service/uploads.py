"""Pastes and files: staged to a temporary file, hashed, checked against the quota, committed to
the blob store, and recorded; images get their dimensions and a thumbnail on the way."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterable, Awaitable

from bot import failpoints
from bot.db import Connection, blobs, items, owners
from bot.db import search as db_search
from bot.errors import Invalid, SecretFound, TooLarge
from bot.errors import StorageFull as StorageFullError
from bot.models import Created, ItemOptions
from bot.service.core import Core, storage_unavailable, store_outage
from bot.service.images import THUMB_TYPE, ImageFacts
from bot.service.languages import count_lines, detect_language
from bot.service.listing import first_line
from bot.service.recording import DEFAULT_OPTIONS, Recording
from bot.service.search import indexed_text, names_of, search_config
from bot.service.secrets import find_secrets
from bot.service.sniff import TEXT_PLAIN, sniff
from storage import BlobTooLarge, StagedBlob, StorageFull

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
MAX_FILENAME = 255
# Controls, bidi overrides and lone surrogates (the bytes of a name that was not UTF-8).
_UNSAFE_NAME_CHARS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


class Uploads:
    """Adds pastes and uploads; the bytes are in the store before the item is recorded."""

    def __init__(self, core: Core, recording: Recording) -> None:
        self.core = core
        self.recording = recording

    async def add_paste(
        self,
        text: str,
        *,
        language: str | None = None,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
    ) -> Created:
        """Store a paste of UTF-8 text; the language comes from the hint, the name or a guess."""
        limits = self.core.settings.limits
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        if not text.strip():
            raise Invalid("The paste is empty.")
        if len(data) > limits.paste:
            raise TooLarge(f"The paste is larger than {limits.paste:,} bytes.")
        if "\x00" in text:
            raise Invalid("The paste contains NUL characters; upload it as a file instead.")
        filename = clean_filename(filename)
        loop = asyncio.get_running_loop()
        if not options.allow_secrets:
            await check_secrets(text)
        detected = await loop.run_in_executor(None, detect_language, text, language, filename)
        await self._check_quota(options.owner_id, len(data))
        stager = self.core.stager
        staged = await _stage(stager.stage_bytes(data))
        try:
            await self._keep_blob(staged, TEXT_PLAIN)
            lines = count_lines(text)
            summary = first_line(text)
            body = indexed_text(text)
            config = await loop.run_in_executor(None, search_config, body, detected)

            async def insert_subtype(conn: Connection, content_id: str) -> None:
                await blobs.touch_blob(conn, staged.sha256, staged.size, TEXT_PLAIN)
                await items.insert_text(
                    conn, content_id, staged.sha256, detected, lines, filename, summary
                )
                names = names_of(content_id, filename, detected)
                await db_search.index_item(conn, content_id, names=names, body=body, config=config)

            digest = bytes.fromhex(staged.sha256)
            return await self.recording.record("text", digest, options, insert_subtype)
        finally:
            await stager.discard(staged)

    async def add_upload(
        self,
        chunks: AsyncIterable[bytes],
        *,
        filename: str | None = None,
        options: ItemOptions = DEFAULT_OPTIONS,
        max_size: int | None = None,
    ) -> Created:
        """Store a streamed file; images (known by their bytes) get dimensions and a thumbnail."""
        limit = self.core.settings.limits.upload
        if max_size is not None:
            limit = min(limit, max_size)
        filename = clean_filename(filename)
        stager = self.core.stager
        staged = await _stage(stager.stage(chunks, limit))
        thumb: StagedBlob | None = None
        try:
            await self._check_quota(options.owner_id, staged.size)
            media_type = sniff(staged.head)
            facts: ImageFacts | None = None
            if media_type in IMAGE_TYPES:
                facts = await self.core.images.thumbnail(staged.path)
                if facts.cleaned_path is not None:
                    # What is stored and served is the image without where it was taken.
                    original = staged
                    staged = await _stage(stager.stage_file(facts.cleaned_path))
                    await stager.discard(original)
                thumb = await _stage(stager.stage_bytes(facts.thumbnail))
                await self._keep_blob(thumb, THUMB_TYPE)
            failpoints.reach("upload.staged")
            await self._keep_blob(staged, media_type)
            failpoints.reach("upload.renamed")

            async def insert_subtype(conn: Connection, content_id: str) -> None:
                await blobs.touch_blob(conn, staged.sha256, staged.size, media_type)
                await db_search.index_item(conn, content_id, names=names_of(content_id, filename))
                if facts is None or thumb is None:
                    await items.insert_file(conn, content_id, staged.sha256, filename)
                    return
                await blobs.touch_blob(conn, thumb.sha256, thumb.size, THUMB_TYPE)
                await items.insert_image(
                    conn,
                    content_id,
                    staged.sha256,
                    facts.width,
                    facts.height,
                    thumb.sha256,
                    filename,
                )

            kind = "file" if facts is None else "image"
            digest = bytes.fromhex(staged.sha256)
            created = await self.recording.record(kind, digest, options, insert_subtype)
            failpoints.reach("upload.committed")
            return created
        finally:
            await stager.discard(staged)
            if thumb is not None:
                await stager.discard(thumb)

    async def _check_quota(self, owner_id: int | None, size: int) -> None:
        quota = self.core.settings.limits.quota
        if not quota or owner_id is None:
            return
        used = await owners.owner_usage(self.core.db.pool, owner_id)
        if used + size > quota:
            raise TooLarge(
                f"This would take you past your storage quota of {quota:,} bytes "
                f"({used:,} bytes used)."
            )

    async def _keep_blob(self, staged: StagedBlob, media_type: str) -> None:
        """Record the blob (marking it fresh, so the sweep leaves it) and commit its bytes.

        Committing always writes: a damaged copy is repaired by the next upload of the bytes.
        """
        await blobs.touch_blob(self.core.db.pool, staged.sha256, staged.size, media_type)
        try:
            with store_outage():
                await self.core.store.commit(staged)
        except StorageFull:
            raise StorageFullError("The storage is full; nothing was stored.") from None


async def _stage(staging: Awaitable[StagedBlob]) -> StagedBlob:
    """A staged blob, or the domain's error for one too large or a full disk."""
    try:
        return await staging
    except BlobTooLarge as exc:
        raise TooLarge(f"The upload is larger than the limit of {exc.limit:,} bytes.") from None
    except StorageFull:
        raise StorageFullError("The storage is full; nothing was stored.") from None
    except ConnectionError:
        raise  # the client went away mid-upload: its doing, not the disk's
    except OSError as exc:
        raise storage_unavailable(exc) from exc


async def check_secrets(text: str) -> None:
    """SecretFound naming the credentials in a text about to be stored (kind and line only: the
    value is never logged or repeated). A scan of megabytes takes a while: in the executor."""
    found = await asyncio.get_running_loop().run_in_executor(None, find_secrets, text)
    if found:
        raise SecretFound(found)


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
