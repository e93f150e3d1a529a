"""Blob store fixtures: a moto S3 server, and each store with out-of-band access to its contents.

Test modules take the fixtures with `from tests.storage_fixtures import blob_store_fixture`; the
fixtures are named (`blob_store`, `s3_server`) so the test parameters do not shadow the import.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from storage.base import BlobStore
from storage.local import LocalBlobStore
from storage.s3 import S3BlobStore, S3Settings
from storage.staging import Stager

BUCKET = "refbin-test"


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server: settings that reach its bucket, and a plain boto3 client."""

    settings: S3Settings
    client: Any  # boto3 S3 client, to look at and damage objects behind the store's back


class StoreCase:
    """A store under test, its stager, and access to what it holds that bypasses the store."""

    kind: str
    store: BlobStore
    stager: Stager

    def stored_names(self) -> list[str]:
        """The names of every stored file or object (not through the store)."""
        raise NotImplementedError

    def overwrite(self, sha256: str, data: bytes) -> None:
        """Replace a blob's bytes without the store knowing, as disk rot or a bad copy would."""
        raise NotImplementedError


class LocalCase(StoreCase):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.store = LocalBlobStore(root)
        self.stager = Stager(self.store.tmp_dir)

    def stored_names(self) -> list[str]:
        root = self.store.root
        return sorted(
            path.name
            for path in root.rglob("*")
            if path.is_file() and path.relative_to(root).parts[0] != "tmp"
        )

    def overwrite(self, sha256: str, data: bytes) -> None:
        self.store.path_for(sha256).write_bytes(data)


class S3Case(StoreCase):
    kind = "s3"

    def __init__(self, server: S3Server, store: S3BlobStore, stager: Stager) -> None:
        self.server = server
        self.store = store
        self.stager = stager

    def stored_names(self) -> list[str]:
        listing = self.server.client.list_objects_v2(
            Bucket=BUCKET, Prefix=self.store.settings.prefix
        )
        return sorted(entry["Key"] for entry in listing.get("Contents", ()))

    def overwrite(self, sha256: str, data: bytes) -> None:
        key = self.store._key(sha256)
        self.server.client.put_object(Bucket=BUCKET, Key=key, Body=data)


@pytest.fixture(scope="session", name="s3_server")
def s3_server_fixture() -> Iterator[S3Server]:
    """A moto S3 server on a free local port with one empty bucket, for the whole run."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        settings = S3Settings(
            bucket=BUCKET,
            region="us-east-1",
            endpoint_url=f"http://{host}:{port}",
            access_key_id="testing",
            secret_access_key="testing",  # noqa: S106 - moto accepts any key
            path_style=True,
        )
        client = boto3.client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )
        client.create_bucket(Bucket=BUCKET)
        yield S3Server(settings=settings, client=client)
    finally:
        server.stop()


@asynccontextmanager
async def open_s3_store(server: S3Server, **changes: Any) -> AsyncIterator[S3BlobStore]:
    """An S3BlobStore on the test bucket under a prefix of its own, so tests never share keys."""
    settings = replace(server.settings, prefix=f"test-{uuid.uuid4().hex}/", **changes)
    async with S3BlobStore(settings) as store:
        yield store


@asynccontextmanager
async def s3_case(server: S3Server, tmp_path: Path, **changes: Any) -> AsyncIterator[S3Case]:
    """An S3 store case staging under tmp_path."""
    async with open_s3_store(server, **changes) as store:
        yield S3Case(server, store, Stager(tmp_path / "tmp"))


@pytest.fixture(params=["local", "s3"], name="blob_store")
async def blob_store_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreCase]:
    """Each store in turn, fresh and empty, with its stager."""
    if request.param == "local":
        yield LocalCase(tmp_path / "blobs")
        return
    # Looked up here rather than required, so a run of local cases never starts moto.
    server = request.getfixturevalue("s3_server")
    async with s3_case(server, tmp_path) as case:
        yield case
