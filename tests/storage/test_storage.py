"""The blob store contract, held by every store; then what only S3 and the copy routine do."""

from __future__ import annotations

import hashlib
import os
import random
import time
import types
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from botocore.exceptions import NoCredentialsError

from bot.web.headers import content_disposition
from storage.base import BlobStore, BlobTooLarge, StagedBlob, StorageFull
from storage.copy import CopyReport, copy_blobs
from storage.local import READ_CHUNK, LocalBlobStore
from storage.s3 import MiB, S3BlobStore, S3Settings
from storage.staging import Stager
from tests.storage_fixtures import (
    LocalCase,
    S3Server,
    StoreCase,
    blob_store_fixture,  # noqa: F401 - the `blob_store` fixture
    s3_case,
    s3_server_fixture,  # noqa: F401 - the `s3_server` fixture
)

NOT_KEYS = [
    pytest.param("../etc/passwd", id="traversal"),
    pytest.param("AB" * 32, id="uppercase"),
    pytest.param("ab" * 31, id="short"),
    pytest.param("ab" * 32 + "/", id="trailing-slash"),
]


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def read_all(store: BlobStore, sha256: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.open(sha256, start, end)])


async def put(case: StoreCase, data: bytes) -> StagedBlob:
    """Bytes into the store as the service puts them: staged, committed, the staging discarded."""
    staged = await case.stager.stage(_one_chunk(data))
    try:
        await case.store.commit(staged)
    finally:
        await case.stager.discard(staged)
    return staged


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


# The contract, for every store.


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * MiB + 17], ids=["empty", "1B", "1kB", "3MiB"])
async def test_put_then_open_returns_the_same_bytes(blob_store: StoreCase, size: int) -> None:
    data = random_bytes(size)

    staged = await put(blob_store, data)

    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == size
    assert await blob_store.store.exists(staged.sha256)
    assert await read_all(blob_store.store, staged.sha256) == data


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(1000, None, id="start-only"),
        pytest.param(10, 20, id="start-and-end"),
        pytest.param(5000, 10**9, id="end-past-size"),
        pytest.param(READ_CHUNK - 7, 3 * READ_CHUNK + 7, id="across-chunks"),
        pytest.param(300, 300, id="empty-range"),
        pytest.param(10**9, None, id="start-past-size"),
    ],
)
async def test_open_returns_the_range_asked_for(
    blob_store: StoreCase, start: int, end: int | None
) -> None:
    data = random_bytes(4 * READ_CHUNK + 3)
    staged = await put(blob_store, data)

    assert await read_all(blob_store.store, staged.sha256, start, end) == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(0, None), (0, 10), (5, None), (5, 10)])
async def test_every_range_of_an_empty_blob_is_empty(
    blob_store: StoreCase, start: int, end: int | None
) -> None:
    staged = await put(blob_store, b"")

    assert await read_all(blob_store.store, staged.sha256, start, end) == b""


async def test_identical_bytes_are_stored_once(blob_store: StoreCase) -> None:
    first = await put(blob_store, b"the same bytes")
    second = await put(blob_store, b"the same bytes")

    assert first.sha256 == second.sha256
    names = blob_store.stored_names()
    assert len(names) == 1
    assert names[0].endswith(first.sha256)


async def test_put_consumes_the_staged_file(blob_store: StoreCase) -> None:
    staged = await put(blob_store, b"staged then stored")

    assert not staged.path.exists()
    assert list(blob_store.stager.tmp_dir.glob("*")) == []


async def test_deleted_blob_is_gone(blob_store: StoreCase) -> None:
    staged = await put(blob_store, b"short-lived")
    assert await blob_store.store.exists(staged.sha256)

    await blob_store.store.delete(staged.sha256)

    assert not await blob_store.store.exists(staged.sha256)
    assert blob_store.stored_names() == []
    with pytest.raises(FileNotFoundError):
        await read_all(blob_store.store, staged.sha256)
    with pytest.raises(FileNotFoundError):
        await read_all(blob_store.store, staged.sha256, 0, 0)


async def test_deleting_an_absent_blob_is_not_an_error(blob_store: StoreCase) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()

    await blob_store.store.delete(absent)

    assert not await blob_store.store.exists(absent)


async def test_committing_again_repairs_a_damaged_blob(blob_store: StoreCase) -> None:
    data = random_bytes(5000, seed=1)
    staged = await put(blob_store, data)
    blob_store.overwrite(staged.sha256, b"bit rot")
    assert await read_all(blob_store.store, staged.sha256) == b"bit rot"

    again = await put(blob_store, data)

    assert again.sha256 == staged.sha256
    assert await read_all(blob_store.store, staged.sha256) == data


@pytest.mark.parametrize("key", NOT_KEYS)
async def test_keys_that_are_not_a_sha256_are_refused(blob_store: StoreCase, key: str) -> None:
    store = blob_store.store
    staged = await blob_store.stager.stage_bytes(b"x")
    try:
        with pytest.raises(ValueError, match="sha256"):
            await store.commit(StagedBlob(path=staged.path, sha256=key, size=1, head=b"x"))
    finally:
        await blob_store.stager.discard(staged)
    with pytest.raises(ValueError, match="sha256"):
        await read_all(store, key)
    with pytest.raises(ValueError, match="sha256"):
        await store.exists(key)
    with pytest.raises(ValueError, match="sha256"):
        await store.delete(key)
    assert blob_store.stored_names() == []


# The stager.


async def test_stager_refuses_a_stream_past_max_size_and_leaves_no_file(tmp_path: Path) -> None:
    stager = Stager(tmp_path / "tmp")

    async def three_chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 400

    with pytest.raises(BlobTooLarge) as raised:
        await stager.stage(three_chunks(), max_size=1000)

    assert raised.value.limit == 1000
    assert list(stager.tmp_dir.iterdir()) == []


async def test_stager_accepts_a_stream_of_exactly_max_size(tmp_path: Path) -> None:
    stager = Stager(tmp_path / "tmp")

    staged = await stager.stage(_one_chunk(b"x" * 1000), max_size=1000)

    assert staged.size == 1000
    assert staged.path.read_bytes() == b"x" * 1000


async def test_stager_sweep_removes_old_temp_files_and_keeps_new_ones(tmp_path: Path) -> None:
    stager = Stager(tmp_path / "tmp")
    old = await stager.stage_bytes(b"abandoned an hour ago")
    new = await stager.stage_bytes(b"being uploaded now")
    an_hour_ago = time.time() - 3600
    os.utime(old.path, (an_hour_ago, an_hour_ago))

    removed = stager.sweep(older_than=600)

    assert removed == 1
    assert not old.path.exists()
    assert new.path.exists()


# S3 only.


async def test_large_file_goes_up_in_parts_and_reads_back_as_one_object(
    s3_server: S3Server, tmp_path: Path
) -> None:
    data = random_bytes(12 * MiB + 5, seed=2)
    async with s3_case(s3_server, tmp_path, part_size=5 * MiB) as case:
        staged = await put(case, data)

        names = case.stored_names()
        head = s3_server.client.head_object(Bucket=case.store.settings.bucket, Key=names[0])
        assert len(names) == 1
        assert head["ContentLength"] == len(data)
        assert head["ETag"].strip('"').endswith("-3")  # a multipart ETag names its part count
        assert await read_all(case.store, staged.sha256) == data
        middle = (5 * MiB - 10, 10 * MiB + 10)
        assert await read_all(case.store, staged.sha256, *middle) == data[slice(*middle)]


async def test_failed_multipart_upload_is_aborted(s3_server: S3Server, tmp_path: Path) -> None:
    async with s3_case(s3_server, tmp_path, part_size=5 * MiB) as case:
        staged = await case.stager.stage(_one_chunk(random_bytes(12 * MiB, seed=3)))
        # The file shrinks after staging, so the second part cannot be read.
        with staged.path.open("r+b") as handle:
            handle.truncate(7 * MiB)

        with pytest.raises(ValueError, match="shorter"):
            await case.store.commit(staged)

        uploads = s3_server.client.list_multipart_uploads(
            Bucket=case.store.settings.bucket, Prefix=case.store.settings.prefix
        )
        assert uploads.get("Uploads", []) == []
        assert case.stored_names() == []
        assert staged.path.exists()  # a failed commit leaves the staged file to the caller


async def test_storage_full_answer_raises_storage_full(s3_server: S3Server, tmp_path: Path) -> None:
    async with s3_case(s3_server, tmp_path) as case:

        def refuse_put(**_: object) -> tuple[object, dict[str, object]]:
            # botocore uses a before-call answer instead of sending the request.
            error = {"Code": "XMinioStorageFull", "Message": "minimum free drive threshold"}
            return types.SimpleNamespace(status_code=507, headers={}), {
                "Error": error,
                "ResponseMetadata": {"HTTPStatusCode": 507},
            }

        case.store._s3.meta.events.register("before-call.s3.PutObject", refuse_put)
        staged = await case.stager.stage_bytes(b"no room for this")

        with pytest.raises(StorageFull):
            await case.store.commit(staged)

        assert case.stored_names() == []


async def test_presigned_download_url_serves_the_bytes_with_the_name_asked_for(
    s3_server: S3Server, tmp_path: Path
) -> None:
    data = random_bytes(70_000, seed=4)
    filename = 'résumé "final".pdf'
    async with s3_case(s3_server, tmp_path, redirect_downloads=True) as case:
        staged = await put(case, data)

        url = await case.store.download_url(
            staged.sha256, disposition=content_disposition(filename), media_type="application/pdf"
        )

        assert url is not None
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            body = await response.read()
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/pdf"
            assert response.headers["Content-Disposition"] == content_disposition(filename)
        assert body == data


async def test_download_url_is_none_unless_redirects_are_enabled(
    s3_server: S3Server, tmp_path: Path
) -> None:
    async with s3_case(s3_server, tmp_path, redirect_downloads=False) as case:
        staged = await put(case, b"served by refbin itself")

        url = await case.store.download_url(
            staged.sha256, disposition="attachment", media_type="text/plain"
        )

        assert url is None


@pytest.mark.parametrize("key", NOT_KEYS)
async def test_download_url_refuses_keys_that_are_not_a_sha256(
    s3_server: S3Server, tmp_path: Path, key: str
) -> None:
    async with s3_case(s3_server, tmp_path, redirect_downloads=True) as case:
        with pytest.raises(ValueError, match="sha256"):
            await case.store.download_url(key, disposition="attachment", media_type="text/plain")


async def test_iter_keys_lists_every_blob_across_pages_and_skips_other_objects(
    s3_server: S3Server, tmp_path: Path
) -> None:
    async with s3_case(s3_server, tmp_path) as case:
        shas = {(await put(case, f"blob {n}".encode())).sha256 for n in range(5)}
        stray = f"{case.store.settings.prefix}README.txt"
        s3_server.client.put_object(Bucket=case.store.settings.bucket, Key=stray, Body=b"hi")

        listed = [sha async for sha in case.store.iter_keys(page_size=2)]

        assert sorted(listed) == sorted(shas)


@pytest.fixture(name="aws_environment")
def aws_environment_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """botocore's credential chain with nothing to find but what a test puts in the environment."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    return monkeypatch


async def test_without_keys_in_settings_the_environment_keys_are_used(
    s3_server: S3Server, tmp_path: Path, aws_environment: pytest.MonkeyPatch
) -> None:
    aws_environment.setenv("AWS_ACCESS_KEY_ID", "from-environment")
    aws_environment.setenv("AWS_SECRET_ACCESS_KEY", "from-environment")

    async with s3_case(s3_server, tmp_path, access_key_id=None, secret_access_key=None) as case:
        staged = await put(case, b"signed with keys from the environment")

        assert await read_all(case.store, staged.sha256) == b"signed with keys from the environment"


async def test_without_keys_anywhere_requests_fail_unsigned(
    s3_server: S3Server, tmp_path: Path, aws_environment: pytest.MonkeyPatch
) -> None:
    async with s3_case(s3_server, tmp_path, access_key_id=None, secret_access_key=None) as case:
        with pytest.raises(NoCredentialsError):
            await case.store.exists(hashlib.sha256(b"").hexdigest())


async def test_connect_starts_a_store_and_close_ends_it(s3_server: S3Server) -> None:
    store = await S3BlobStore.connect(s3_server.settings)
    absent = hashlib.sha256(b"absent").hexdigest()
    assert not await store.exists(absent)

    await store.close()

    with pytest.raises(RuntimeError, match="start"):
        await store.exists(absent)


def test_s3_settings_refuse_half_a_key_pair_and_too_small_parts() -> None:
    with pytest.raises(ValueError, match="access_key_id"):
        S3Settings(bucket="b", access_key_id="AKIA")
    with pytest.raises(ValueError, match="part_size"):
        S3Settings(bucket="b", part_size=MiB)
    assert "hunter2" not in repr(
        S3Settings(bucket="b", access_key_id="a", secret_access_key="hunter2")
    )


# Copying between stores.


@pytest.mark.parametrize("direction", ["local-to-s3", "s3-to-local"])
async def test_copy_blobs_copies_verified_bytes_once_and_refuses_corrupt_ones(
    s3_server: S3Server, tmp_path: Path, direction: str
) -> None:
    local = LocalCase(tmp_path / "local")
    async with s3_case(s3_server, tmp_path) as remote:
        source, target = (local, remote) if direction == "local-to-s3" else (remote, local)
        blobs = {
            (await put(source, random_bytes(size, seed=size))).sha256 for size in (0, 10, 300_000)
        }
        rotten = (await put(source, b"will rot")).sha256
        source.overwrite(rotten, b"has rotted")
        absent = hashlib.sha256(b"never stored").hexdigest()
        keys = [*sorted(blobs), rotten, absent]
        # A local target renames the staged file into place, so stage on the same filesystem.
        stager = Stager(local.store.tmp_dir)

        first = await copy_blobs(source.store, target.store, keys, stager)
        second = await copy_blobs(source.store, target.store, keys, stager)

        assert first == CopyReport(
            copied=3,
            skipped=0,
            corrupt=1,
            missing=1,
            corrupt_keys=(rotten,),
            missing_keys=(absent,),
        )
        assert second == CopyReport(
            copied=0,
            skipped=3,
            corrupt=1,
            missing=1,
            corrupt_keys=(rotten,),
            missing_keys=(absent,),
        )
        for sha in blobs:
            assert hashlib.sha256(await read_all(target.store, sha)).hexdigest() == sha
        assert not await target.store.exists(rotten)
        assert list(stager.tmp_dir.iterdir()) == []


async def test_copy_blobs_takes_the_keys_from_an_s3_listing(
    s3_server: S3Server, tmp_path: Path
) -> None:
    target = LocalBlobStore(tmp_path / "local")
    async with s3_case(s3_server, tmp_path) as source:
        shas = {(await put(source, f"listed {n}".encode())).sha256 for n in range(3)}

        report = await copy_blobs(
            source.store, target, source.store.iter_keys(), Stager(target.tmp_dir)
        )

    assert report.copied == 3
    assert {sha for sha in shas if await target.exists(sha)} == shas
