"""The operator's maintenance commands: `refbin check`, `backup DEST` and `restore SRC`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.errors import RefbinError
from bot.runtime import open_runtime, restore_database
from bot.service import backups
from bot.service.maintenance import CheckReport, Progress, check_instance
from bot.units import format_size

COMMANDS = ("check", "backup", "restore")
PROGRESS_SECONDS = 2.0

# (argparse's subparsers action, name, summary) -> the new subcommand's parser; main's `_command`.
CommandFactory = Callable[..., argparse.ArgumentParser]


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], command: CommandFactory
) -> None:
    """Register the maintenance commands on the main parser's subcommands."""
    check = command(
        sub, "check", "verify every blob's size and sha256 in the store, and the items' rows"
    )
    check.add_argument(
        "--jobs", type=int, default=4, metavar="N", help="blobs read at once (default 4)"
    )

    backup = command(
        sub, "backup", "write a consistent backup (database and blobs) into a folder, while serving"
    )
    backup.add_argument("dest", type=Path, help="a folder; a repeated backup copies only new blobs")
    backup.add_argument(
        "--with-blobs",
        action="store_true",
        help="with S3 storage: copy the blobs too (local blobs are always copied)",
    )
    backup.add_argument(
        "--jobs", type=int, default=4, metavar="N", help="blobs copied at once (default 4)"
    )
    restore = command(sub, "restore", "restore a backup into an empty instance, then migrate it")
    restore.add_argument("src", type=Path, help="a folder written by `refbin backup`")
    restore.add_argument(
        "--force", action="store_true", help="replace everything in a non-empty instance"
    )
    restore.add_argument(
        "--jobs", type=int, default=4, metavar="N", help="blobs copied at once (default 4)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a maintenance command; its exit status."""
    jobs = max(1, args.jobs)
    if args.command == "backup":
        return asyncio.run(run_backup(settings, args.dest, with_blobs=args.with_blobs, jobs=jobs))
    if args.command == "restore":
        return asyncio.run(run_restore(settings, args.src, force=args.force, jobs=jobs))
    return asyncio.run(run_check(settings, jobs=jobs))


def _say(err: TextIO) -> backups.Say:
    return lambda line: print(line, file=err, flush=True)


async def run_backup(
    settings: Settings,
    dest: Path,
    *,
    with_blobs: bool = False,
    jobs: int = 4,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Back the instance up into `dest`; 1 when blobs that items use could not be copied."""
    async with open_runtime(settings) as runtime:
        store = runtime.service.store
        result = await backups.back_up(
            runtime.service.db,
            store,
            dest,
            embedded=not settings.database.url,
            with_blobs=with_blobs or store.name == "local",
            jobs=jobs,
            say=_say(err),
            progress=progress_printer(err, "blobs"),
        )
    manifest = result.manifest
    tables = manifest["database"]["tables"]
    blobs = manifest["blobs"]
    print(f"backup written to {dest}", file=out)
    print(
        f"{'database:':<24}{manifest['database']['dump']} "
        f"({format_size(manifest['database']['dump_size'])}), "
        f"{tables.get('refs', 0):,} items, {len(manifest['database']['migrations'])} migrations",
        file=out,
    )
    size = format_size(sum(blob["size"] for blob in blobs))
    print(f"{'blobs listed:':<24}{len(blobs):,} ({size})", file=out)
    report = result.report
    if report is None:
        print(
            f"{'blobs copied:':<24}none: they stay in {store.name} (--with-blobs copies them)",
            file=out,
        )
    else:
        print(f"{'copied and verified:':<24}{report.copied:,}", file=out)
        print(f"{'already in the backup:':<24}{report.skipped:,}", file=out)
        print(
            f"{'missing or corrupt:':<24}{report.missing + report.corrupt + report.failed:,}",
            file=out,
        )
    for sha256 in result.lost:
        print(f"  lost {sha256}: an item uses it; `refbin check` names the items", file=out)
    return 1 if result.lost else 0


async def run_restore(
    settings: Settings,
    src: Path,
    *,
    force: bool = False,
    jobs: int = 4,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Restore a backup: the database, then the blobs, verified; then the migrations."""
    say = _say(err)
    manifest = await asyncio.to_thread(backups.read_manifest, src)
    say(f"restoring the database from {src / manifest['database']['dump']} …")
    await restore_database(settings, src, manifest, force=force)
    async with open_runtime(settings) as runtime:  # opening it applies newer migrations
        say("copying the blobs into the store …")
        report = await backups.restore_blobs(
            runtime.service.store,
            runtime.service.stager,
            src,
            manifest,
            jobs=jobs,
            progress=progress_printer(err, "blobs"),
        )
    tables = manifest["database"]["tables"]
    print(f"restored {src}", file=out)
    print(f"{'items:':<24}{tables.get('refs', 0):,}", file=out)
    print(f"{'blobs copied, verified:':<24}{report.copied:,}", file=out)
    print(f"{'blobs already there:':<24}{report.skipped:,}", file=out)
    bad = (*report.missing_keys, *report.corrupt_keys, *report.failed_keys)
    for sha256 in bad:
        print(f"  not restored {sha256}: missing or damaged in the backup", file=out)
    if not manifest["storage"]["blobs_copied"]:
        print(
            f"the backup listed its blobs without copying them: they must already be in the "
            f"configured {manifest['storage']['backend']} store (`refbin check` verifies them)",
            file=out,
        )
    if bad:
        raise RefbinError(f"{len(bad)} blob(s) could not be restored")
    return 0


async def run_check(
    settings: Settings, *, jobs: int = 4, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Check the instance, print the report; 0 when nothing is wrong, 1 otherwise."""
    async with open_runtime(settings) as runtime:
        service = runtime.service
        report = await check_instance(
            service.db,
            service.store,
            blob_grace=service.blob_grace,
            jobs=jobs,
            progress=progress_printer(err, "blobs checked"),
        )
    print_check(report, out)
    return 0 if report.ok else 1


def progress_printer(err: TextIO, what: str) -> Progress:
    """A line on stderr every few seconds, and at the end, so a long run shows it is moving."""
    last = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS or (done == total and total >= 1000):
            last = now
            print(f"… {done:,} of {total:,} {what}", file=err, flush=True)

    return progress


def print_check(report: CheckReport, out: TextIO) -> None:
    counts = report.counts
    rows = (
        ("items", f"{report.items:,}"),
        ("blobs in the database", f"{report.blobs:,}"),
        ("blobs checked", f"{report.checked:,} ({format_size(report.bytes_read)} read)"),
        ("used by items", f"{report.used:,}"),
        ("unused, due for sweep", f"{report.unused_sweepable:,}"),
        ("unused, recent", f"{report.unused_recent:,}"),
        ("missing in the store", f"{counts.get('missing', 0):,}"),
        ("wrong size", f"{counts.get('wrong size', 0):,}"),
        ("wrong sha256", f"{counts.get('wrong sha256', 0):,}"),
        ("subtype rule broken", f"{len(report.subtype_violations):,}"),
    )
    for label, value in rows:
        print(f"{label + ':':<24}{value}", file=out)
    for blob in report.bad_blobs:
        users = (
            f"used by {', '.join(blob.users)}"
            if blob.users
            else "used by no item (harmless: the sweep removes it)"
        )
        found = (
            f", {blob.found_size:,} bytes instead of {blob.expected_size:,}"
            if blob.problem == "wrong size"
            else ""
        )
        print(f"  {blob.problem} {blob.sha256}{found}: {users}", file=out)
    for violation in report.subtype_violations:
        print(
            f"  item {violation.content_id} ({violation.kind}) has "
            f"{violation.subtype_rows} subtype row(s), or none of its kind",
            file=out,
        )
    print("OK: nothing is wrong" if report.ok else "PROBLEMS FOUND (listed above)", file=out)
