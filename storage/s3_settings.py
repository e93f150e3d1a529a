"""S3Settings: where the bucket is and how to reach it; the `[storage.s3]` section of the config.

Its own module so that reading the configuration does not import the S3 client (aiobotocore).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to reach it; no keys means botocore's usual credential chain.

    An empty bucket is allowed here (the section has defaults even with local storage); the
    configuration refuses it when the s3 backend is chosen. In a config file, `""` is None.
    """

    bucket: str = ""
    region: str = "us-east-1"
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    path_style: bool = False
    prefix: str = "blobs/"
    part_size: int = field(default=16 * MiB, metadata={"unit": "size"})
    redirect_downloads: bool = False
    presign_seconds: int = 3600

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both storage.s3 access_key_id and secret_access_key, or neither")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"storage.s3.part_size must be 5 MiB to 5 GiB, not {self.part_size}")
        if not 1 <= self.presign_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(
                f"storage.s3.presign_seconds must be 1 to {MAX_PRESIGN_SECONDS}, "
                f"not {self.presign_seconds}"
            )
        if self.prefix.startswith("/"):
            raise ValueError("storage.s3.prefix must not start with '/'")
