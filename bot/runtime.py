"""What a refbin process runs on: the database, the blob store and the content service."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db import Database, instance, open_database
from bot.service import ContentService, backups
from bot.service.cache import invalidation_listener
from storage import BlobStore, LocalBlobStore, Stager

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: BlobStore
    service: ContentService


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the database (starting the embedded one if needed), the store and the service.

    On exit the pending visit counts are flushed and everything is closed, in reverse order.
    """
    async with open_database(settings.database) as db, open_store(settings) as (store, stager):
        secret = await _instance_secret(settings, db)
        service = ContentService(
            settings=settings, db=db, store=store, stager=stager, secret=secret
        )
        try:
            async with invalidation_listener(service.cache, db.dsn):
                yield Runtime(settings=settings, db=db, store=store, service=service)
        finally:
            service.images.close()
            try:
                await service.counter.flush(db.pool)
            except Exception:
                log.exception("could not flush the last visit counts")


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[tuple[BlobStore, Stager]]:
    """The configured blob store and the stager whose temporary files it commits."""
    if settings.storage.backend == "s3":
        from storage.s3 import S3BlobStore

        store: BlobStore = await S3BlobStore.connect(settings.storage.s3)
        stager = Stager(settings.data_dir / "tmp")
    else:
        local = LocalBlobStore(settings.blob_path)
        store, stager = local, Stager(local.tmp_dir)
    try:
        yield store, stager
    finally:
        await store.close()


async def _instance_secret(settings: Settings, db: Database) -> bytes:
    if settings.secret:
        return settings.secret.encode()
    async with db.pool.acquire() as conn:
        return await instance.load_or_create_secret(conn, secrets.token_bytes(32))


async def restore_database(
    settings: Settings, src: Path, manifest: dict[str, Any], *, force: bool = False
) -> None:
    """Restore a backup's database into the configured one, as it is (no migrations first:
    the dump brings its own schema, and opening the runtime afterwards migrates it)."""
    async with open_database(settings.database, run_migrations=False) as db:
        await backups.restore_database(
            db, src, manifest, embedded=not settings.database.url, force=force
        )
