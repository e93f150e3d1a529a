"""S3BlobStore: blobs as objects in an S3 (or S3-compatible) bucket, keyed by sha256."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import IO, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from storage.base import BlobStore, StagedBlob, StorageFull, is_sha256
from storage.s3_settings import MiB as MiB  # re-exported: the store's users size parts in MiB
from storage.s3_settings import S3Settings

log = logging.getLogger(__name__)

MAX_PARTS = 10_000
READ_CHUNK = 256 * 1024
# A download streamed through refbin holds one connection for as long as its client reads:
# botocore's default of 10 would queue the eleventh concurrent download behind the others.
MAX_CONNECTIONS = 100
OBJECT_MEDIA_TYPE = "application/octet-stream"  # the real type is chosen per download

# Error codes meaning "no room": AWS and Ceph RGW quotas, MinIO's disk threshold and bucket quota.
_FULL_CODES = frozenset(
    {
        "QuotaExceeded",
        "XMinioStorageFull",
        "XMinioAdminBucketQuotaExceeded",
        "BucketQuotaExceeded",
        "InsufficientStorage",
        "StorageFull",
    }
)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def blob_key(prefix: str, sha256: str) -> str:
    """The object key of a blob, `<prefix>ab/cd/abcd…`; refuses anything but a sha256."""
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 key: {sha256!r}")
    return f"{prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sha256_from_key(prefix: str, key: str) -> str | None:
    """The sha256 an object key names, or None when the object is not one of our blobs."""
    sha256 = key.rpartition("/")[2]
    if is_sha256(sha256) and key == blob_key(prefix, sha256):
        return sha256
    return None


def is_storage_full(exc: ClientError) -> bool:
    """Whether S3 refused a write because the bucket or the disks behind it are full."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _error_code(exc) in _FULL_CODES or status == 507


class S3BlobStore(BlobStore):
    """Blob `ab12…` is the object `<prefix>ab/12/ab12…`; start() before use, close() after."""

    name = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    @classmethod
    async def connect(cls, settings: S3Settings) -> S3BlobStore:
        """A started store; close() it when done. (`open` is taken: it reads a blob.)"""
        store = cls(settings)
        await store.start()
        return store

    async def start(self) -> None:
        """Create the S3 client; every call reuses it and its connection pool."""
        if self._client is not None:
            return
        s = self.settings
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path" if s.path_style else "virtual"},
            retries={"mode": "standard"},
            max_pool_connections=MAX_CONNECTIONS,
            # Several S3-compatible servers reject the CRC32 headers botocore sends by default;
            # the Content-MD5 that commit() sends instead is the check they all understand.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    region_name=s.region,
                    endpoint_url=s.endpoint_url,
                    aws_access_key_id=s.access_key_id,
                    aws_secret_access_key=s.secret_access_key,
                    config=config,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()

    async def __aenter__(self) -> S3BlobStore:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def _s3(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore used before start() or after close()")
        return self._client

    def _key(self, sha256: str) -> str:
        return blob_key(self.settings.prefix, sha256)

    async def commit(self, staged: StagedBlob) -> None:
        """Upload a staged file, replacing any object under its key, then remove the file."""
        key = self._key(staged.sha256)
        try:
            if staged.size > self.settings.part_size:
                await self._put_multipart(key, staged)
            else:
                await self._put_single(key, staged)
        except ClientError as exc:
            if is_storage_full(exc):
                raise StorageFull(str(exc)) from exc
            raise
        # The local store renames the file away; callers may rely on a commit consuming it.
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(staged.path.unlink)

    async def _put_single(self, key: str, staged: StagedBlob) -> None:
        data, md5 = await asyncio.to_thread(_read_file, staged.path, staged.size)
        await self._s3.put_object(
            Bucket=self.settings.bucket,
            Key=key,
            Body=data,
            ContentMD5=md5,
            ContentType=OBJECT_MEDIA_TYPE,
        )

    async def _put_multipart(self, key: str, staged: StagedBlob) -> None:
        bucket = self.settings.bucket
        # S3 takes at most 10,000 parts: a file that would need more gets larger parts.
        part_size = max(self.settings.part_size, -(-staged.size // MAX_PARTS))
        upload = await self._s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=OBJECT_MEDIA_TYPE
        )
        upload_id = upload["UploadId"]
        try:
            parts = []
            handle = await asyncio.to_thread(staged.path.open, "rb")
            with handle:
                for number, offset in enumerate(range(0, staged.size, part_size), start=1):
                    want = min(part_size, staged.size - offset)
                    data, md5 = await asyncio.to_thread(_read_part, handle, want, staged.path)
                    answer = await self._s3.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                        ContentMD5=md5,
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            await self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Parts of an unfinished upload are billed and invisible until aborted.
            await self._abort_multipart(key, upload_id)
            raise

    async def _abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._s3.abort_multipart_upload(
                Bucket=self.settings.bucket, Key=key, UploadId=upload_id
            )
        except Exception:
            # The upload's own error is the one to raise; a lifecycle rule can sweep the rest.
            log.warning("could not abort multipart upload %s of %s", upload_id, key, exc_info=True)

    async def open(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        key = self._key(sha256)
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"negative range: {start}-{end}")
        if end is not None and end <= start:
            # Nothing to fetch, but an absent blob must still fail as it does with a range.
            if not await self.exists(sha256):
                raise FileNotFoundError(f"no blob {sha256}")
            return
        request = {"Bucket": self.settings.bucket, "Key": key}
        if start or end is not None:
            request["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            answer = await self._s3.get_object(**request)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise FileNotFoundError(f"no blob {sha256}") from exc
            if _error_code(exc) == "InvalidRange":
                return  # the range starts at or past the end: no bytes, as a file read gives
            raise
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk

    async def delete(self, sha256: str) -> None:
        # S3 answers 204 for an absent key too.
        await self._s3.delete_object(Bucket=self.settings.bucket, Key=self._key(sha256))

    async def exists(self, sha256: str) -> bool:
        try:
            await self._s3.head_object(Bucket=self.settings.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise
        return True

    async def download_url(self, sha256: str, *, disposition: str, media_type: str) -> str | None:
        """A presigned GET URL with the download's disposition and type, when redirects are
        enabled."""
        key = self._key(sha256)
        if not self.settings.redirect_downloads:
            return None
        return await self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.settings.bucket,
                "Key": key,
                "ResponseContentDisposition": disposition,
                "ResponseContentType": media_type,
            },
            ExpiresIn=self.settings.presign_seconds,
        )

    async def iter_keys(self, page_size: int = 1000) -> AsyncIterator[str]:
        """The sha256 of every blob under the prefix, listed page by page; other objects skipped."""
        paginator = self._s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.settings.bucket,
            Prefix=self.settings.prefix,
            PaginationConfig={"PageSize": page_size},
        )
        async for page in pages:
            for entry in page.get("Contents", ()):
                sha256 = sha256_from_key(self.settings.prefix, entry["Key"])
                if sha256 is not None:
                    yield sha256


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read_file(path: Path, size: int) -> tuple[bytes, str]:
    with path.open("rb") as handle:
        return _read_part(handle, size, path)


def _read_part(handle: IO[bytes], size: int, path: Path) -> tuple[bytes, str]:
    """Exactly `size` bytes and their Content-MD5; a short read means the file changed."""
    data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"{path} is shorter than when it was staged")
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return data, base64.b64encode(md5).decode("ascii")
