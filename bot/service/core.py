"""What the parts of the content service share, and which failures of a blob store it reads as
the store being unavailable (the database layer does the same for PostgreSQL)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.db import Database
from bot.errors import Unavailable
from bot.service.cache import ItemCache
from bot.service.counting import VisitCounter
from bot.service.images import ImageWorker
from storage import BlobStore, Stager

log = logging.getLogger(__name__)


@dataclass
class Core:
    """The settings, the backends and this process's item state, one of each per service.

    `settings` may be replaced while the service runs (tests do), so every part reads it from
    here on each call rather than keeping a copy.
    """

    settings: Settings
    db: Database
    store: BlobStore
    stager: Stager
    cache: ItemCache
    counter: VisitCounter
    images: ImageWorker

    def url_for(self, content_id: str) -> str:
        return f"{self.settings.server.base_url}/{content_id}"

    @property
    def own_hosts(self) -> tuple[str, ...]:
        """The host names this instance serves from (a link to one of them is refused)."""
        urls = (self.settings.server.base_url, self.settings.server.content_url)
        return tuple(urlsplit(u).hostname or "" for u in urls if u)


def store_failure(error: BaseException) -> str | None:
    """What a failure of a blob store says (S3's named so), or None when `error` is not one.

    An absent blob (FileNotFoundError) is no failure of the store: each caller answers it.
    """
    if isinstance(error, FileNotFoundError):
        return None
    # botocore is imported only when an S3 store is configured; without it, no error is its.
    boto = sys.modules.get("botocore.exceptions")
    if boto is not None and isinstance(error, boto.ClientError | boto.BotoCoreError):
        return f"S3: {error}"
    if isinstance(error, OSError | TimeoutError):  # the local disk, or the network to S3
        return str(error) or repr(error)
    return None


def store_unreachable(error: BaseException) -> bool:
    """Whether a blob store's failure means it cannot serve now (its disk, its network, its
    5xx), as opposed to a refusal only the operator can mend (S3's AccessDenied, say)."""
    if store_failure(error) is None:
        return False
    boto = sys.modules.get("botocore.exceptions")
    if boto is not None and isinstance(error, boto.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500
    if boto is not None and isinstance(error, boto.BotoCoreError):  # no credentials, say
        return isinstance(error, boto.ConnectionError | boto.HTTPClientError)
    return True


def storage_unavailable(cause: BaseException) -> Unavailable:
    """The domain's error for a store (or staging disk) that cannot serve now; logged."""
    log.warning("storage unavailable: %r", cause)
    return Unavailable("The storage is unavailable; try again shortly.")


@contextlib.contextmanager
def store_outage() -> Iterator[None]:
    """Raise the domain's Unavailable for a blob store that cannot serve now."""
    try:
        yield
    except Exception as error:
        if not store_unreachable(error):
            raise
        raise storage_unavailable(error) from error
