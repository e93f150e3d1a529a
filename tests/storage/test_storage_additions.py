"""What running beyond one machine asks of the stores: the local store lists its keys and commits
across filesystems (for `refbin storage copy`); the S3 store streams many downloads at once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from storage.local import LocalBlobStore
from storage.s3 import MAX_CONNECTIONS
from storage.staging import Stager
from tests.storage_fixtures import (
    S3Server,
    s3_case,
    s3_server_fixture,  # noqa: F401 - the `s3_server` fixture
)

SHM = Path("/dev/shm")


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read_all(store: LocalBlobStore, sha256: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(sha256)])


async def test_iter_keys_lists_every_blob_in_order_and_nothing_else(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    stager = Stager(store.tmp_dir)
    shas = set()
    for n in range(20):
        staged = await stager.stage(one_chunk(f"blob {n}".encode()))
        await store.commit(staged)
        shas.add(staged.sha256)
    # Things that are not blobs: a temporary file, a stray file, a misplaced and a bad name.
    (store.tmp_dir / "upload.part").write_bytes(b"half")
    (store.root / "README").write_text("not a blob")
    misplaced = hashlib.sha256(b"misplaced").hexdigest()
    (store.root / "00" / "00").mkdir(parents=True)
    (store.root / "00" / "00" / misplaced).write_bytes(b"misplaced")
    some = sorted(shas)[0]
    (store.path_for(some).parent / (some + ".incoming-abc")).write_bytes(b"x")

    listed = [sha async for sha in store.iter_keys()]

    assert listed == sorted(shas)


async def test_iter_keys_of_an_empty_store_is_empty(tmp_path: Path) -> None:
    assert [sha async for sha in LocalBlobStore(tmp_path / "empty").iter_keys()] == []


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A folder on a filesystem other than tmp_path's (tmpfs at /dev/shm), or a skip."""
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to stage on")
    folder = Path(tempfile.mkdtemp(prefix="refbin-xfs-", dir=SHM))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_commit_from_another_filesystem_copies_the_blob_into_place(
    tmp_path: Path, other_filesystem: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    stager = Stager(other_filesystem)
    data = os.urandom(700_000)

    staged = await stager.stage(one_chunk(data))
    await store.commit(staged)

    assert await read_all(store, staged.sha256) == data
    assert not staged.path.exists()  # consumed, as a rename would
    neighbours = list(store.path_for(staged.sha256).parent.iterdir())
    assert neighbours == [store.path_for(staged.sha256)]


async def test_s3_streams_more_downloads_at_once_than_botocores_default_pool(
    s3_server: S3Server, tmp_path: Path
) -> None:
    # Each open download holds a connection until it is read to the end or closed.
    concurrent = 24
    assert MAX_CONNECTIONS >= concurrent > 10
    async with s3_case(s3_server, tmp_path) as case:
        staged = await case.stager.stage(one_chunk(os.urandom(2 * 1024 * 1024)))
        await case.store.commit(staged)
        streams = [case.store.open(staged.sha256) for _ in range(concurrent)]
        async with contextlib.AsyncExitStack() as held:
            for stream in streams:
                await held.enter_async_context(aclosing(stream))
            firsts = await asyncio.wait_for(
                asyncio.gather(*(anext(stream) for stream in streams)), timeout=20
            )

    assert all(firsts)
