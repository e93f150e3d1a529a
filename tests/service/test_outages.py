"""What the content service calls an outage: a blob store that cannot serve now becomes the
domain's Unavailable (503, "try again"), decided here and not by the front ends; an absent blob,
a refusal only the operator can mend, or a client that goes away mid-upload does not."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.config import Settings, load_settings
from bot.errors import Unavailable
from bot.runtime import Runtime, open_runtime
from bot.service.core import store_unreachable
from tests.helpers import chunks_of, free_port


def shard_of(runtime: Runtime, data: bytes) -> Path:
    """The first folder a local blob of these bytes lives under."""
    return runtime.settings.blob_path / hashlib.sha256(data).hexdigest()[:2]


async def count(runtime: Runtime, table: str) -> int:
    return await runtime.db.pool.fetchval(f"SELECT count(*) FROM {table}")


async def test_a_store_that_cannot_write_is_unavailable_and_nothing_is_recorded(
    runtime: Runtime,
) -> None:
    data = os.urandom(5000)
    shard_of(runtime, data).write_bytes(b"a file where the store wants a folder")

    with pytest.raises(Unavailable, match="storage is unavailable"):
        await runtime.service.add_upload(chunks_of(data), filename="a.bin")

    assert await count(runtime, "refs") == 0


async def test_a_store_that_cannot_read_is_unavailable_but_an_absent_blob_is_not(
    runtime: Runtime,
) -> None:
    service = runtime.service
    created = await service.add_paste("print('kept')\n")
    item = created.item
    assert item.sha256 is not None
    shard = shard_of(runtime, b"print('kept')\n")

    shutil.rmtree(shard)
    with pytest.raises(FileNotFoundError):  # the front end answers this itself
        await service.read_text(item)

    shard.write_bytes(b"a file where the store wants a folder")
    with pytest.raises(Unavailable, match="storage is unavailable"):
        await service.read_text(item)
    with pytest.raises(Unavailable):
        _ = [chunk async for chunk in service.open_blob(item.sha256)]


async def test_a_client_that_goes_away_mid_upload_is_not_an_outage(runtime: Runtime) -> None:
    async def aborted() -> AsyncIterator[bytes]:
        yield os.urandom(70_000)
        raise ConnectionResetError("Connection lost")

    with pytest.raises(ConnectionResetError):
        await runtime.service.add_upload(aborted(), filename="half.bin")

    assert await count(runtime, "refs") == 0
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []


async def test_s3_that_cannot_be_reached_is_unavailable(settings: Settings) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    environ = {
        "REFBIN_STORAGE_BACKEND": "s3",
        "REFBIN_STORAGE_S3_BUCKET": "refbin",
        "REFBIN_STORAGE_S3_ENDPOINT_URL": nowhere,
        "REFBIN_STORAGE_S3_PATH_STYLE": "true",
        "REFBIN_STORAGE_S3_ACCESS_KEY_ID": "key",
        "REFBIN_STORAGE_S3_SECRET_ACCESS_KEY": "secret",
    }
    storage = load_settings(None, environ=environ).storage
    async with open_runtime(dataclasses.replace(settings, storage=storage)) as runtime:
        with pytest.raises(Unavailable, match="storage is unavailable"):
            await runtime.service.add_paste("never stored\n")
        assert await count(runtime, "refs") == 0


def s3_error(code: str, status: int) -> ClientError:
    answer = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(answer, "GetObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        pytest.param(OSError(5, "Input/output error"), True, id="disk-error"),
        pytest.param(TimeoutError(), True, id="timeout"),
        pytest.param(EndpointConnectionError(endpoint_url="http://s3"), True, id="s3-unreachable"),
        pytest.param(ReadTimeoutError(endpoint_url="http://s3"), True, id="s3-read-timeout"),
        pytest.param(s3_error("SlowDown", 503), True, id="s3-slow-down"),
        pytest.param(s3_error("InternalError", 500), True, id="s3-internal-error"),
        pytest.param(s3_error("AccessDenied", 403), False, id="s3-access-denied"),
        pytest.param(s3_error("NoSuchBucket", 404), False, id="s3-no-bucket"),
        pytest.param(NoCredentialsError(), False, id="s3-no-credentials"),
        pytest.param(FileNotFoundError(), False, id="absent-blob"),
        pytest.param(ValueError("not a sha256 key"), False, id="a-bug"),
    ],
)
def test_which_store_failures_are_an_outage(error: BaseException, unreachable: bool) -> None:
    assert store_unreachable(error) is unreachable
