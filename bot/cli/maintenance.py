"""The operator's maintenance commands: `refbin check` (backup and restore join it here)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import TextIO

from bot.config import Settings
from bot.runtime import open_runtime
from bot.service.maintenance import CheckReport, Progress, check_instance
from bot.units import format_size

COMMANDS = ("check",)
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


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a maintenance command; its exit status."""
    return asyncio.run(run_check(settings, jobs=max(1, args.jobs)))


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
        users = f"used by {', '.join(blob.users)}" if blob.users else "used by no item"
        found = (
            ""
            if blob.found_size is None
            else f", {blob.found_size:,} of {blob.expected_size:,} bytes"
        )
        print(f"  {blob.problem} {blob.sha256}{found}: {users}", file=out)
    for violation in report.subtype_violations:
        print(
            f"  item {violation.content_id} ({violation.kind}) has "
            f"{violation.subtype_rows} subtype row(s), or none of its kind",
            file=out,
        )
    print("OK: nothing is wrong" if report.ok else "PROBLEMS FOUND (listed above)", file=out)
