"""The maintenance commands end to end, in subprocesses, against a real database:
`refbin check` exits 0 on a healthy instance and 1, naming the blob, on a damaged one; a backup
taken while refbin serves, restored into a fresh embedded instance, answers the same bytes and
metadata; a repeated backup copies nothing; one killed half-way completes when run again."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import DatabaseSettings, Settings, StorageSettings
from bot.db import pgcluster
from bot.models import Created, Visit
from bot.runtime import Runtime, open_runtime
from bot.service import ContentService
from storage.local import LocalBlobStore
from tests.helpers import chunks_of, id_of, png_bytes
from tests.storage_fixtures import S3Server, s3_server_fixture  # noqa: F401 - `s3_server`


def refbin(
    *args: str, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFBIN_")}
    return env | {
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
    }


def test_check_passes_a_healthy_instance_and_fails_a_corrupted_blob(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    body = b"checked by the command line\n" * 100
    added = refbin("add", "-", env=cli_env, stdin=body)
    assert added.returncode == 0, added.stderr
    healthy = refbin("check", env=cli_env)
    store = LocalBlobStore(tmp_path / "data" / "blobs")
    sha = hashlib.sha256(body).hexdigest()
    store.path_for(sha).write_bytes(body.replace(b"checked", b"CHECKED"))
    damaged = refbin("check", env=cli_env)

    assert healthy.returncode == 0, healthy.stderr
    assert "blobs checked:          1" in healthy.stdout.decode()
    assert "OK: nothing is wrong" in healthy.stdout.decode()
    assert damaged.returncode == 1
    out = damaged.stdout.decode()
    assert "wrong sha256:           1" in out
    assert f"wrong sha256 {sha}" in out and id_of(added.stdout.decode().split()[0]) in out


# ---- backup and restore -------------------------------------------------------------------


@dataclass
class Source:
    """A serving instance with one of everything, and the environment to run `refbin` on it."""

    runtime: Runtime
    env: dict[str, str]
    items: dict[str, Created]
    api_token: str
    cookie: str


def with_pg_programs(env: dict[str, str]) -> dict[str, str]:
    """An external database needs pg_dump on PATH: the bundled one, as an operator would."""
    return env | {"PATH": f"{pgcluster.bin_dir()}{os.pathsep}{env.get('PATH', '')}"}


@pytest.fixture
async def source(runtime: Runtime, settings: Settings, database_url: str) -> Source:
    service = runtime.service
    items = {
        "link": await service.add_link("https://example.com/backed-up"),
        "paste": await service.add_paste("print('backed up')\n", language="python"),
        "image": await service.add_upload(chunks_of(png_bytes()), filename="red.png"),
        "file": await service.add_upload(chunks_of(os.urandom(500_000)), filename="a.bin"),
    }
    for n in range(6):  # more files, so that a backup killed half-way has copied some
        items[f"file{n}"] = await service.add_upload(
            chunks_of(os.urandom(100_000 + n)), filename=f"{n}.bin"
        )
    for _ in range(3):
        await service.resolve(items["link"].item.content_id, visit=Visit(referrer="a.example"))
    await service.counter.flush(runtime.db.pool)
    api_token = await service.create_api_token("backup-test")
    cookie = (await service.sign_in(4242, "signed-in")).token
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFBIN_")}
    env |= {
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(settings.data_dir),
        "REFBIN_SECRET": settings.secret,
    }
    return Source(runtime, with_pg_programs(env), items, api_token, cookie)


def fresh_instance(source: Source, data_dir: Path) -> dict[str, str]:
    """The environment of a new instance on the embedded server, in its own data folder."""
    env = {k: v for k, v in source.env.items() if k != "REFBIN_DATABASE_URL"}
    return env | {"REFBIN_DATABASE_DATA_DIR": str(data_dir)}


@pytest.fixture
def fresh_dir() -> Iterator[Path]:
    """A data folder for a new embedded instance, stopped and removed afterwards."""
    # Not under pytest's own temporary tree (0700): as root the server runs as another user.
    folder = Path(tempfile.mkdtemp(prefix="refbin-restore-"))
    yield folder / "data"
    for pid_file in folder.rglob("postmaster.pid"):
        if pgcluster.running_postmaster(pid_file.parent) is not None:
            pgcluster.stop_server(pgcluster.bin_dir(), pid_file.parent)
    shutil.rmtree(folder, ignore_errors=True)


async def blob_bytes(service: ContentService, sha256: str | None) -> bytes:
    assert sha256 is not None
    return b"".join([chunk async for chunk in service.open_blob(sha256)])


async def test_a_backup_restored_into_a_fresh_instance_answers_the_same(
    source: Source, settings: Settings, tmp_path: Path, fresh_dir: Path
) -> None:
    dest = tmp_path / "backup"
    backed = await asyncio.to_thread(refbin, "backup", str(dest), env=source.env)
    assert backed.returncode == 0, backed.stderr
    target_env = fresh_instance(source, fresh_dir)
    restored = await asyncio.to_thread(refbin, "restore", str(dest), env=target_env)
    assert restored.returncode == 0, restored.stderr
    checked = await asyncio.to_thread(refbin, "check", env=target_env)

    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["database"]["tables"]["refs"] == len(source.items)
    assert len(manifest["blobs"]) == len(source.items)  # the link has none, the image two
    assert "copied and verified:    10" in backed.stdout.decode()
    assert "blobs copied, verified: 10" in restored.stdout.decode()
    assert checked.returncode == 0, checked.stdout
    target_settings = dataclasses.replace(
        settings, database=DatabaseSettings(url=None, data_dir=fresh_dir)
    )
    before = source.runtime.service
    async with open_runtime(target_settings) as target:
        after = target.service
        for created in source.items.values():
            content_id = created.item.content_id
            old, new = await before.get(content_id), await after.get(content_id)
            assert new == old
            if old.sha256 is not None:
                assert await blob_bytes(after, new.sha256) == await blob_bytes(before, old.sha256)
            if old.thumb_sha256 is not None:
                assert await blob_bytes(after, new.thumb_sha256) == await blob_bytes(
                    before, old.thumb_sha256
                )
        assert await after.owner_for_api_token(source.api_token) is not None
        signed_in = await after.session_account(source.cookie)
        assert signed_in is not None and signed_in.account.name == "signed-in"
        link = source.items["link"].item
        assert (await after.get(link.content_id)).views == 3


async def test_a_repeated_backup_copies_nothing_new(source: Source, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    first = await asyncio.to_thread(refbin, "backup", str(dest), env=source.env)
    again = await asyncio.to_thread(refbin, "backup", str(dest), env=source.env)

    assert first.returncode == again.returncode == 0, again.stderr
    assert "copied and verified:    0" in again.stdout.decode()
    assert "already in the backup:  10" in again.stdout.decode()


async def test_a_backup_killed_half_way_completes_when_run_again(
    source: Source, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    killed_env = source.env | {"REFBIN_FAILPOINTS": "backup.half_copied"}
    killed = await asyncio.to_thread(refbin, "backup", str(dest), env=killed_env)
    unfinished = (dest / "manifest.json").exists()
    resumed = await asyncio.to_thread(refbin, "backup", str(dest), env=source.env)

    assert killed.returncode == -signal.SIGKILL
    assert not unfinished
    assert resumed.returncode == 0, resumed.stderr
    counts = dict(re.findall(r"^([a-z ]+):\s+(\d+)$", resumed.stdout.decode(), re.M))
    # Killed after the fifth blob (a few more may have landed beside it), never all ten.
    assert 5 <= int(counts["already in the backup"]) < 10
    assert int(counts["already in the backup"]) + int(counts["copied and verified"]) == 10
    assert (dest / "manifest.json").exists()


async def test_restore_refuses_a_non_empty_instance_without_force(
    source: Source, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    backed = await asyncio.to_thread(refbin, "backup", str(dest), env=source.env)
    assert backed.returncode == 0, backed.stderr

    refused = await asyncio.to_thread(refbin, "restore", str(dest), env=source.env)
    forced = await asyncio.to_thread(refbin, "restore", str(dest), "--force", env=source.env)

    assert refused.returncode == 1
    assert "pass --force" in refused.stderr.decode()
    assert forced.returncode == 0, forced.stderr
    item = source.items["paste"].item
    assert (await source.runtime.service.get(item.content_id)).sha256 == item.sha256


def test_restore_refuses_a_folder_without_a_manifest(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    refused = refbin("restore", str(tmp_path), env=cli_env)

    assert refused.returncode == 1
    assert "no manifest.json" in refused.stderr.decode()


# ---- S3 -------------------------------------------------------------------------------------


async def test_with_s3_blobs_are_listed_or_with_blobs_copied_and_restore_to_local(
    settings: Settings, database_url: str, tmp_path: Path, fresh_dir: Path, s3_server: S3Server
) -> None:
    s3 = dataclasses.replace(s3_server.settings, prefix=f"backup-{uuid.uuid4().hex}/")
    on_s3 = dataclasses.replace(settings, storage=StorageSettings(backend="s3", s3=s3))
    async with open_runtime(on_s3) as runtime:
        paste = await runtime.service.add_paste("kept in a bucket\n")
        await runtime.service.add_upload(chunks_of(png_bytes()), filename="red.png")
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFBIN_")}
    env = with_pg_programs(env) | {
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(settings.data_dir),
        "REFBIN_SECRET": settings.secret,
        "REFBIN_STORAGE_BACKEND": "s3",
        "REFBIN_STORAGE_S3_BUCKET": s3.bucket,
        "REFBIN_STORAGE_S3_ENDPOINT_URL": str(s3.endpoint_url),
        "REFBIN_STORAGE_S3_PATH_STYLE": "true",
        "REFBIN_STORAGE_S3_PREFIX": s3.prefix,
        "REFBIN_STORAGE_S3_ACCESS_KEY_ID": str(s3.access_key_id),
        "REFBIN_STORAGE_S3_SECRET_ACCESS_KEY": str(s3.secret_access_key),
    }

    listed = await asyncio.to_thread(refbin, "backup", str(tmp_path / "listed"), env=env)
    copied = await asyncio.to_thread(
        refbin, "backup", str(tmp_path / "copied"), "--with-blobs", env=env
    )
    local_env = {k: v for k, v in env.items() if k != "REFBIN_DATABASE_URL"}
    local_env |= {"REFBIN_DATABASE_DATA_DIR": str(fresh_dir), "REFBIN_STORAGE_BACKEND": "local"}
    restored = await asyncio.to_thread(refbin, "restore", str(tmp_path / "copied"), env=local_env)
    checked = await asyncio.to_thread(refbin, "check", env=local_env)

    assert listed.returncode == 0, listed.stderr
    assert "none: they stay in s3" in listed.stdout.decode()
    manifest = json.loads((tmp_path / "listed" / "manifest.json").read_text())
    assert manifest["storage"] == {"backend": "s3", "blobs_copied": False}
    assert len(manifest["blobs"]) == 3 and not (tmp_path / "listed" / "blobs").exists()
    assert copied.returncode == 0, copied.stderr
    assert "copied and verified:    3" in copied.stdout.decode()
    backup_store = LocalBlobStore(tmp_path / "copied" / "blobs")
    assert paste.item.sha256 is not None
    assert backup_store.path_for(paste.item.sha256).read_bytes() == b"kept in a bucket\n"
    assert restored.returncode == 0, restored.stderr
    assert "blobs copied, verified: 3" in restored.stdout.decode()
    assert checked.returncode == 0, checked.stdout


async def test_a_backup_taken_under_load_restores_to_a_consistent_instance(
    source: Source, tmp_path: Path, fresh_dir: Path
) -> None:
    service = source.runtime.service
    made: list[str] = []
    backing_up = asyncio.create_task(
        asyncio.to_thread(refbin, "backup", str(tmp_path / "backup"), env=source.env)
    )
    n = 0
    while not backing_up.done():  # creates and reads, as a serving refbin would see them
        n += 1
        created = await service.add_upload(
            chunks_of(os.urandom(50_000) + str(n).encode()), filename=f"load{n}.bin"
        )
        made.append(created.item.content_id)
        await service.resolve(source.items["paste"].item.content_id, visit=Visit())
    backed = await backing_up
    target_env = fresh_instance(source, fresh_dir)
    restored = await asyncio.to_thread(refbin, "restore", str(tmp_path / "backup"), env=target_env)
    checked = await asyncio.to_thread(refbin, "check", env=target_env)

    assert made, "the load ran beside the backup"
    assert backed.returncode == 0, backed.stderr
    assert restored.returncode == 0, restored.stderr  # row counts matched the manifest
    assert checked.returncode == 0, checked.stdout  # every item's blob came with it
