"""`refbin storage copy --to s3|local`, end to end: real `refbin` processes, a real database, the
local store on disk and a moto S3 server. Every blob the database lists is copied and verified;
a rerun copies only what is missing; the configuration is switched only when nothing was lost."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.cli.switch_store import ConfigEditError, with_backend
from bot.config import Settings, load_settings
from bot.models import Created
from bot.runtime import open_runtime
from storage.local import LocalBlobStore
from tests.helpers import chunks_of, png_bytes
from tests.storage_fixtures import S3Server, s3_server_fixture  # noqa: F401 - `s3_server`

CONFIG = """\
# refbin on this machine
[server]
port = 9999  # never bound by these tests

[storage]
# blobs live here until the move
backend = "local"
"""


@dataclass
class Result:
    status: int
    out: str
    err: str


@dataclass
class Scene:
    """A database with items on the local store, an S3 prefix, and how to run `refbin`."""

    env: dict[str, str]
    config: Path
    cwd: Path
    local: LocalBlobStore
    s3: S3Server
    prefix: str
    blobs: dict[str, bytes]  # sha256 -> bytes, every blob the database lists
    items: dict[str, Created]

    async def refbin(self, *args: str, config: bool = True, **env: str) -> Result:
        head = ["--config", str(self.config)] if config else []
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *head,
            *args,
            env={**self.env, **env},
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return Result(process.returncode or 0, out.decode(), err.decode())

    def s3_objects(self) -> dict[str, bytes]:
        """sha256 -> bytes of every object under the prefix, read behind refbin's back."""
        client = self.s3.client
        listing = client.list_objects_v2(Bucket=self.s3.settings.bucket, Prefix=self.prefix)
        found = {}
        for entry in listing.get("Contents", ()):
            body = client.get_object(Bucket=self.s3.settings.bucket, Key=entry["Key"])["Body"]
            found[entry["Key"].rsplit("/", 1)[1]] = body.read()
        return found

    def delete_s3_object(self, sha256: str) -> None:
        key = f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"
        self.s3.client.delete_object(Bucket=self.s3.settings.bucket, Key=key)

    def settings(self) -> Settings:
        return load_settings(self.config, environ=self.env)


@pytest.fixture
async def scene(
    settings: Settings, database_url: str, tmp_path: Path, s3_server: S3Server
) -> Scene:
    async with open_runtime(settings) as runtime:
        service = runtime.service
        items = {
            "paste": await service.add_paste("print('moved')\n", language="python"),
            "file": await service.add_upload(chunks_of(os.urandom(300_000)), filename="a.bin"),
            "image": await service.add_upload(chunks_of(png_bytes()), filename="red.png"),
            "link": await service.add_link("https://example.com/no-blob"),
        }
    local = LocalBlobStore(settings.blob_path)
    conn = await asyncpg.connect(database_url)
    try:
        shas = [row["sha256"] for row in await conn.fetch("SELECT sha256 FROM blobs")]
    finally:
        await conn.close()
    blobs = {sha: local.path_for(sha).read_bytes() for sha in shas}
    assert len(blobs) == 4  # the paste, the file, the image and its thumbnail
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    prefix = f"copy-{uuid.uuid4().hex}/"
    s3 = s3_server.settings
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFBIN_")}
    env |= {
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(settings.data_dir),
        "REFBIN_SECRET": settings.secret,
        "REFBIN_STORAGE_S3_BUCKET": s3.bucket,
        "REFBIN_STORAGE_S3_ENDPOINT_URL": str(s3.endpoint_url),
        "REFBIN_STORAGE_S3_PATH_STYLE": "true",
        "REFBIN_STORAGE_S3_PREFIX": prefix,
        "REFBIN_STORAGE_S3_ACCESS_KEY_ID": str(s3.access_key_id),
        "REFBIN_STORAGE_S3_SECRET_ACCESS_KEY": str(s3.secret_access_key),
    }
    return Scene(env, config, tmp_path, local, s3_server, prefix, blobs, items)


async def test_copy_to_s3_moves_every_blob_verified_and_switches_the_config_file(
    scene: Scene,
) -> None:
    result = await scene.refbin("storage", "copy", "--to", "s3")

    assert result.status == 0, result.err
    assert "blobs in the database:  4" in result.out
    assert "copied and verified:    4" in result.out
    assert "missing in local:       0" in result.out
    assert f'wrote backend = "s3" under [storage] in {scene.config}' in result.out
    assert scene.s3_objects() == scene.blobs
    assert scene.config.read_text() == CONFIG.replace('backend = "local"', 'backend = "s3"')
    assert (scene.cwd / "config.toml.bak").read_text() == CONFIG
    # The switched configuration serves every item from S3.
    async with open_runtime(scene.settings()) as runtime:
        assert runtime.store.name == "s3"
        paste = await runtime.service.get(scene.items["paste"].item.content_id)
        assert await runtime.service.read_text(paste) == "print('moved')\n"
        image = await runtime.service.get(scene.items["image"].item.content_id)
        assert image.sha256 is not None and image.thumb_sha256 is not None
        for sha in (image.sha256, image.thumb_sha256):
            data = b"".join([chunk async for chunk in runtime.service.open_blob(sha)])
            assert hashlib.sha256(data).hexdigest() == sha


async def test_a_rerun_copies_nothing_and_an_interrupted_copy_resumes(scene: Scene) -> None:
    first = await scene.refbin("storage", "copy", "--to", "s3", "--no-switch")
    again = await scene.refbin("storage", "copy", "--to", "s3", "--no-switch")
    lost = sorted(scene.blobs)[:2]
    for sha in lost:  # as if the first run had stopped before these
        scene.delete_s3_object(sha)
    resumed = await scene.refbin("storage", "copy", "--to", "s3", "--no-switch")

    assert first.status == again.status == resumed.status == 0
    assert "copied and verified:    4" in first.out
    assert "copied and verified:    0" in again.out
    assert "already in s3:          4" in again.out
    assert "copied and verified:    2" in resumed.out
    assert "already in s3:          2" in resumed.out
    assert scene.s3_objects() == scene.blobs
    assert scene.config.read_text() == CONFIG  # --no-switch


async def test_missing_and_corrupt_blobs_are_reported_and_nothing_is_switched(
    scene: Scene,
) -> None:
    paste, file = scene.items["paste"].item, scene.items["file"].item
    assert paste.sha256 is not None and file.sha256 is not None
    scene.local.path_for(paste.sha256).unlink()
    scene.local.path_for(file.sha256).write_bytes(b"bit rot")

    refused = await scene.refbin("storage", "copy", "--to", "s3")
    config_after_refusal = scene.config.read_text()
    backed_up = (scene.cwd / "config.toml.bak").exists()
    accepted = await scene.refbin("storage", "copy", "--to", "s3", "--accept-losses")

    assert refused.status == 1
    assert "missing in local:       1" in refused.out
    assert "corrupt in local:       1" in refused.out
    assert f"missing {paste.sha256}: used by {paste.content_id}" in refused.out
    assert f"corrupt {file.sha256}: used by {file.content_id}" in refused.out
    assert "The configuration was NOT switched" in refused.out
    assert config_after_refusal == CONFIG and not backed_up
    assert sorted(scene.s3_objects()) == sorted(set(scene.blobs) - {paste.sha256, file.sha256})
    assert accepted.status == 0
    assert 'backend = "s3"' in scene.config.read_text()


async def test_without_a_config_file_the_change_is_printed_not_written(scene: Scene) -> None:
    scene.config.unlink()

    result = await scene.refbin("storage", "copy", "--to", "s3", config=False)

    assert result.status == 0, result.err
    assert "No configuration file was given" in result.out
    assert "nothing was written" in result.out
    assert "    REFBIN_STORAGE_BACKEND=s3\n" in result.out
    assert '    [storage]\n    backend = "s3"\n' in result.out
    assert "REFBIN_STORAGE_S3_BUCKET" in result.out  # the S3 settings it used came from the env
    assert not scene.config.exists()
    assert scene.s3_objects() == scene.blobs


async def test_copying_back_to_local_and_the_environment_override_is_pointed_out(
    scene: Scene,
) -> None:
    moved = await scene.refbin("storage", "copy", "--to", "s3")
    for sha in scene.blobs:
        scene.local.path_for(sha).unlink()  # the old store is gone: only S3 has the bytes

    same = await scene.refbin("storage", "copy", "--to", "s3")
    back = await scene.refbin("storage", "copy", "--to", "local", REFBIN_STORAGE_BACKEND="s3")

    assert moved.status == 0, moved.err
    assert same.status == 1
    assert "already in s3" in same.err and "--from local" in same.err
    assert back.status == 0, back.err
    assert "copied and verified:    4" in back.out
    assert {sha: scene.local.path_for(sha).read_bytes() for sha in scene.blobs} == scene.blobs
    assert 'backend = "local"' in scene.config.read_text()
    assert "REFBIN_STORAGE_BACKEND=s3 is set in this environment" in back.out


async def test_a_store_that_refuses_is_one_line_and_nothing_is_switched(scene: Scene) -> None:
    result = await scene.refbin(
        "storage", "copy", "--to", "s3", REFBIN_STORAGE_S3_BUCKET="no-such-bucket"
    )

    assert result.status == 1
    assert result.err.startswith("refbin: S3: "), result.err
    assert "NoSuchBucket" in result.err and "run again to continue" in result.err
    assert "Traceback" not in result.err
    assert scene.config.read_text() == CONFIG


# Switching the file: one key changes, every other line stays.


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '[storage]\nbackend = "local"  # for now\npath = "/srv/blobs"\n',
            '[storage]\nbackend = "s3"\npath = "/srv/blobs"\n',
            id="set-in-table",
        ),
        pytest.param(
            '# hi\n[storage]\n# backend = "local"\npath = ""\n',
            '# hi\n[storage]\nbackend = "s3"\n# backend = "local"\npath = ""\n',
            id="only-commented",
        ),
        pytest.param(
            '[storage.s3]\nbucket = "b"\n\n[storage]\nbackend = "local"\n',
            '[storage.s3]\nbucket = "b"\n\n[storage]\nbackend = "s3"\n',
            id="sub-table-first",
        ),
        pytest.param(
            'storage.backend = "local"\n[server]\nport = 1\n',
            'storage.backend = "s3"\n[server]\nport = 1\n',
            id="dotted-key",
        ),
        pytest.param(
            "[server]\nport = 1",
            '[server]\nport = 1\n\n[storage]\nbackend = "s3"\n',
            id="no-storage-table",
        ),
        pytest.param("", '\n[storage]\nbackend = "s3"\n', id="empty-file"),
    ],
)
def test_with_backend_changes_only_the_backend(before: str, after: str) -> None:
    assert with_backend(before, "s3") == after


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('storage = { backend = "local" }\n', id="inline-table"),
        pytest.param("[storage\n", id="not-toml"),
    ],
)
def test_with_backend_refuses_what_it_cannot_edit_safely(text: str) -> None:
    with pytest.raises(ConfigEditError):
        with_backend(text, "s3")
