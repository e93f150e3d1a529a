"""`refbin backup` and `refbin restore`: the database dumped at one exported snapshot, the blobs
that snapshot lists copied beside it (each verified by sha256), and a manifest of both.

A backup folder holds `database.dump` (pg_dump's custom format), `blobs/` (a local blob store:
`blobs/ab/cd/abcd…`, each file named by its sha256 and renamed into place only when complete,
so a repeated backup copies only new blobs and an interrupted one resumes) and `manifest.json`,
written last: a folder without it is an unfinished backup.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import failpoints
from bot.db import Database, dumps
from bot.errors import Conflict, RefbinError
from storage import BlobStore, LocalBlobStore, Stager
from storage.copy import CopyOutcome, CopyReport, copy_blobs

MANIFEST = "manifest.json"
DUMP = "database.dump"
BLOBS = "blobs"
FORMAT = 1

Say = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote: its manifest, and what happened to the blobs."""

    manifest: dict[str, Any]
    report: CopyReport | None  # None when the blobs were listed, not copied (S3)
    lost: tuple[str, ...]  # blobs items use that are missing or corrupt in the store


def _version() -> str:
    try:
        return importlib.metadata.version("refbin")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


async def back_up(
    db: Database,
    store: BlobStore,
    dest: Path,
    *,
    embedded: bool,
    with_blobs: bool,
    jobs: int = 4,
    say: Say = lambda _line: None,
    progress: Progress | None = None,
) -> BackupResult:
    """Dump the database at one snapshot and copy (or list) the blobs that snapshot holds."""
    await asyncio.to_thread(dest.mkdir, parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    # An old manifest would describe an older dump: a backup in progress has none.
    await asyncio.to_thread(manifest_path.unlink, missing_ok=True)
    async with dumps.exported_snapshot(db) as snapshot:
        blob_rows = await dumps.snapshot_blobs(snapshot.conn)
        say(f"dumping the database ({sum(snapshot.tables.values()):,} rows) …")
        await dumps.pg_dump(
            db.dsn, dest / DUMP, snapshot_id=snapshot.snapshot_id, embedded=embedded
        )
    dump_size = (await asyncio.to_thread((dest / DUMP).stat)).st_size
    blobs = [{"sha256": row["sha256"], "size": row["size"]} for row in blob_rows]
    used = {row["sha256"] for row in blob_rows if row["used"]}
    report: CopyReport | None = None
    lost: tuple[str, ...] = ()
    if with_blobs:
        total = sum(blob["size"] for blob in blobs)
        say(f"copying to {dest / BLOBS} what it lacks of {len(blobs):,} blobs ({total:,} bytes) …")
        report = await _copy_into(store, dest / BLOBS, [b["sha256"] for b in blobs], jobs, progress)
        absent = set(report.missing_keys) | set(report.corrupt_keys) | set(report.failed_keys)
        # A blob no item uses may be an upload in flight (its row comes before its bytes).
        lost = tuple(sorted(absent & used))
        for blob in blobs:
            blob["in_backup"] = blob["sha256"] not in absent
    manifest = {
        "format": FORMAT,
        "refbin_version": _version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {
            "dump": DUMP,
            "dump_size": dump_size,
            "migrations": list(snapshot.migrations),
            "tables": snapshot.tables,
        },
        "storage": {"backend": store.name, "blobs_copied": with_blobs},
        "blobs": blobs,
    }
    text = json.dumps(manifest, indent=1)
    await asyncio.to_thread(_write_atomically, manifest_path, text)
    return BackupResult(manifest, report, lost)


async def _copy_into(
    source: BlobStore, folder: Path, shas: list[str], jobs: int, progress: Progress | None
) -> CopyReport:
    target = await asyncio.to_thread(LocalBlobStore, folder)
    done = 0

    def one_done(_sha256: str, _outcome: CopyOutcome) -> None:
        nonlocal done
        done += 1
        if done == len(shas) // 2:
            failpoints.reach("backup.half_copied")  # the tests' kill of a backup half done
        if progress is not None:
            progress(done, len(shas))

    return await copy_blobs(
        source, target, shas, Stager(target.tmp_dir), concurrency=jobs, progress=one_done
    )


def _write_atomically(path: Path, text: str) -> None:
    fresh = path.with_name(f".{path.name}.new")
    with fresh.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(fresh, path)


# ---- restore ----------------------------------------------------------------------------------


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of a finished backup; RefbinError for an unfinished or foreign folder."""
    try:
        manifest = json.loads((src / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise RefbinError(
            f"{src}: no {MANIFEST}: not a refbin backup, or one that did not finish "
            "(run `refbin backup` into it again)"
        ) from None
    except ValueError as exc:
        raise RefbinError(f"{src / MANIFEST}: not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise RefbinError(f"{src / MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT}")
    if not (src / manifest["database"]["dump"]).is_file():
        raise RefbinError(f"{src}: {manifest['database']['dump']} is missing")
    return manifest


async def restore_database(
    db: Database, src: Path, manifest: dict[str, Any], *, embedded: bool, force: bool
) -> None:
    """Load the backup's dump into an empty database (with `force`, into any: it is cleared)."""
    async with db.pool.acquire() as conn:
        if not await dumps.is_empty(conn):
            if not force:
                raise Conflict(
                    "the target database already holds items, blobs or owners: restore into a "
                    "new instance, or pass --force to replace everything in it"
                )
        await dumps.clear_schema(conn)  # a fresh instance's migrated, empty tables go too
    await dumps.pg_restore(db.dsn, src / manifest["database"]["dump"], embedded=embedded)
    async with db.pool.acquire() as conn:
        tables = await dumps.table_counts(conn)
    expected = manifest["database"]["tables"]
    differ = {
        name: (count, tables.get(name))
        for name, count in expected.items()
        if tables.get(name) != count
    }
    if differ:
        raise RefbinError(f"the restored tables do not match the manifest: {differ}")


async def restore_blobs(
    store: BlobStore,
    stager: Stager,
    src: Path,
    manifest: dict[str, Any],
    *,
    jobs: int = 4,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy the backup's blobs into the store, each verified by its sha256 on both sides."""
    source = await asyncio.to_thread(LocalBlobStore, src / BLOBS)
    shas = [blob["sha256"] for blob in manifest["blobs"] if blob.get("in_backup", False)]
    done = 0

    def one_done(_sha256: str, _outcome: CopyOutcome) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(shas))

    return await copy_blobs(source, store, shas, stager, concurrency=jobs, progress=one_done)
