"""`refbin storage copy --to s3|local`: move every blob the database knows to another store,
verified by sha256, and only then switch the configuration to it.

The database's `blobs` table is the list (not a listing of the store): it is the source of
truth for what must exist. The copy is resumable and idempotent, because a blob the target
already holds is skipped; a rerun copies only what is new or was left out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.db import Database, open_database, queries
from bot.errors import RefbinError
from bot.runtime import open_store
from bot.units import format_size
from storage import BlobStore, Stager
from storage.copy import CopyOutcome, CopyReport, copy_blobs

BACKENDS = ("local", "s3")
PAGE_SIZE = 1000
PROGRESS_EVERY = 500
BACKEND_ENV = "REFBIN_STORAGE_BACKEND"


@dataclass(frozen=True)
class CopyRequest:
    """What `refbin storage copy` was asked to do."""

    source: str
    target: str
    config_path: Path | None
    jobs: int = 4
    verify_existing: bool = False
    accept_losses: bool = False
    switch: bool = True


@dataclass(frozen=True)
class StoreCopy:
    """The outcome of copying the database's blobs: the counts, and who uses the bad blobs."""

    blobs: int
    size: int
    report: CopyReport
    users: Mapping[str, tuple[str, ...]]  # problem blob -> ids of the items that use it

    @property
    def losses(self) -> tuple[str, ...]:
        """Problem blobs some item uses (an unused one is only waiting for the sweep)."""
        report = self.report
        problems = (*report.missing_keys, *report.corrupt_keys, *report.failed_keys)
        return tuple(sha for sha in problems if self.users.get(sha))


class ConfigEditError(Exception):
    """The file could not be changed safely; the change is printed instead."""


# ---- the copy ---------------------------------------------------------------------------------


async def database_blob_keys(
    db: Database, touched_since: datetime | None = None
) -> AsyncIterator[str]:
    """Every blob key in the database (from the primary: a replica may lag), page by page."""
    after = ""
    while True:
        page = await queries.blob_keys_after(db.pool, after, PAGE_SIZE, touched_since)
        for sha256 in page:
            yield sha256
        if len(page) < PAGE_SIZE:
            return
        after = page[-1]


async def copy_database_blobs(
    db: Database,
    source: BlobStore,
    target: BlobStore,
    stager: Stager,
    *,
    jobs: int = 4,
    verify_existing: bool = False,
    err: TextIO | None = None,
) -> StoreCopy:
    """Copy every blob of the `blobs` table from source to target, each verified by sha256.

    Blobs written while the copy runs are picked up by a second pass over those touched since
    it began; blobs missing at first are tried once more at the end (an upload in flight has
    its row before its bytes).
    """
    started = await queries.database_now(db.pool)
    totals = await queries.blob_totals(db.pool)
    progress = _Progress(totals["blobs"], err)

    async def keys() -> AsyncIterator[str]:
        async for sha256 in database_blob_keys(db):
            yield sha256
        async for sha256 in database_blob_keys(db, touched_since=started):
            yield sha256

    options: dict[str, Any] = {"concurrency": jobs, "verify_existing": verify_existing}
    first = await copy_blobs(source, target, keys(), stager, progress=progress, **options)
    report = first
    if first.missing_keys:
        again = await copy_blobs(source, target, first.missing_keys, stager, **options)
        report = _after_retry(first, again)
    problems = [*report.missing_keys, *report.corrupt_keys, *report.failed_keys]
    users: dict[str, list[str]] = {}
    if problems:
        for row in await queries.items_using_blobs(db.pool, problems):
            users.setdefault(row["sha256"], []).append(row["content_id"])
    return StoreCopy(
        blobs=totals["blobs"],
        size=totals["bytes"],
        report=report,
        users={sha: tuple(ids) for sha, ids in users.items()},
    )


def _after_retry(first: CopyReport, again: CopyReport) -> CopyReport:
    """The first run's report with its missing blobs replaced by what the retry found."""
    return CopyReport(
        copied=first.copied + again.copied,
        skipped=first.skipped + again.skipped,
        corrupt=first.corrupt + again.corrupt,
        missing=again.missing,
        corrupt_keys=tuple(sorted((*first.corrupt_keys, *again.corrupt_keys))),
        missing_keys=again.missing_keys,
        failed=first.failed + again.failed,
        failed_keys=tuple(sorted((*first.failed_keys, *again.failed_keys))),
    )


class _Progress:
    """A line on stderr every PROGRESS_EVERY blobs, so a long copy shows it is moving."""

    def __init__(self, total: int, err: TextIO | None) -> None:
        self.total = total
        self.done = 0
        self.err = err

    def __call__(self, sha256: str, outcome: CopyOutcome) -> None:
        self.done += 1
        if self.err is not None and self.done % PROGRESS_EVERY == 0:
            print(f"… {self.done:,} of {self.total:,} blobs", file=self.err, flush=True)


# ---- the configuration change -----------------------------------------------------------------

_TABLE = re.compile(r"^\s*\[")
_STORAGE_TABLE = re.compile(r"^\s*\[\s*storage\s*\]\s*(#.*)?$")
_BACKEND_KEY = re.compile(r"^\s*backend\s*=")
_DOTTED_BACKEND_KEY = re.compile(r"^\s*storage\s*\.\s*backend\s*=")


def with_backend(text: str, backend: str) -> str:
    """The TOML text with `storage.backend` set to `backend`, every other line kept as it was.

    ConfigEditError when the result would not read back as exactly that one change.
    """
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigEditError(f"it is not valid TOML: {exc}") from None
    lines = text.splitlines(keepends=True)
    setting = f'backend = "{backend}"\n'
    edited = _replace_in_storage_table(lines, setting) or _replace_dotted_key(lines, backend)
    if edited is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        edited = [*lines, f"{tail}\n[storage]\n", setting]
    result = "".join(edited)
    expected = dict(before)
    expected["storage"] = {**before.get("storage", {}), "backend": backend}
    try:
        if tomllib.loads(result) == expected:
            return result
    except tomllib.TOMLDecodeError:
        pass
    raise ConfigEditError("its [storage] table is written in a form this command cannot edit")


def _replace_in_storage_table(lines: list[str], setting: str) -> list[str] | None:
    header = next((n for n, line in enumerate(lines) if _STORAGE_TABLE.match(line)), None)
    if header is None:
        return None
    end = next(
        (n for n in range(header + 1, len(lines)) if _TABLE.match(lines[n])),
        len(lines),
    )
    for n in range(header + 1, end):
        if _BACKEND_KEY.match(lines[n]):
            return [*lines[:n], setting, *lines[n + 1 :]]
    return [*lines[: header + 1], setting, *lines[header + 1 :]]


def _replace_dotted_key(lines: list[str], backend: str) -> list[str] | None:
    first_table = next((n for n, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    for n in range(first_table):
        if _DOTTED_BACKEND_KEY.match(lines[n]):
            return [*lines[:n], f'storage.backend = "{backend}"\n', *lines[n + 1 :]]
    return None


def write_backend(path: Path, backend: str) -> Path:
    """Set `storage.backend` in a TOML file, atomically, keeping the old file as `<name>.bak`."""
    text = path.read_text("utf-8")
    new_text = with_backend(text, backend)
    backup = path.with_name(path.name + ".bak")
    fresh = path.with_name(f".{path.name}.new")
    mode = path.stat().st_mode & 0o777  # a configuration may hold secrets: keep its mode
    backup.write_text(text, "utf-8")
    os.chmod(backup, mode)
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(new_text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    return backup


# ---- the command ------------------------------------------------------------------------------


def settings_for_backend(settings: Settings, backend: str) -> Settings:
    """The same settings with another storage backend."""
    return dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, backend=backend)
    )


def describe_store(settings: Settings, backend: str) -> str:
    """Where a backend keeps its blobs, in words: a folder, or a bucket and prefix."""
    if backend == "local":
        return f"local ({settings.blob_path.resolve()})"
    s3 = settings.storage.s3
    where = f" at {s3.endpoint_url}" if s3.endpoint_url else ""
    return f"s3 (s3://{s3.bucket}/{s3.prefix}{where})"


async def run_copy(
    settings: Settings,
    request: CopyRequest,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Copy, report, and switch the configuration when every blob arrived; the exit status."""
    if request.source == request.target:
        raise RefbinError(
            f"the blobs are already in {request.target}: to copy blobs left in the other store, "
            f"say where from, e.g. --from {'local' if request.target == 's3' else 's3'}"
        )
    print(
        f"copying blobs from {describe_store(settings, request.source)}\n"
        f"                to {describe_store(settings, request.target)}",
        file=out,
        flush=True,
    )
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings.database))
        with _store_errors():
            try:
                source, _ = await stack.enter_async_context(
                    open_store(settings_for_backend(settings, request.source))
                )
                target, stager = await stack.enter_async_context(
                    open_store(settings_for_backend(settings, request.target))
                )
            except ValueError as exc:  # S3Settings: no bucket, half a key pair, tiny parts
                raise RefbinError(f"storage.s3: {exc}") from None
            result = await copy_database_blobs(
                db,
                source,
                target,
                stager,
                jobs=request.jobs,
                verify_existing=request.verify_existing,
                err=err,
            )
    print_report(result, request, out)
    losses = result.losses
    if losses and not request.accept_losses:
        print(
            f"\nThe configuration was NOT switched: {len(losses)} blob(s) that items use could "
            "not be copied (listed above). Repair them in the source and run this again; or, if "
            "they are lost for good (their items are already unreadable), run again with "
            "--accept-losses to switch anyway.",
            file=out,
        )
        return 1
    if not request.switch:
        print("\n--no-switch: the configuration was left as it is.", file=out)
        return 0
    print_switch(settings, request, out, environ)
    return 0


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """An S3 refusal (no such bucket, bad keys, unreachable) as one line, not a traceback.

    What was copied stays copied; the message says so, since a rerun continues from there.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise RefbinError(
            f"S3: {exc} (what was copied so far stays copied; run again to continue)"
        ) from None


def print_report(result: StoreCopy, request: CopyRequest, out: TextIO) -> None:
    report = result.report
    rows = (
        ("blobs in the database", f"{result.blobs:,} ({format_size(result.size)})"),
        ("copied and verified", f"{report.copied:,}"),
        (f"already in {request.target}", f"{report.skipped:,}"),
        (f"missing in {request.source}", f"{report.missing:,}"),
        (f"corrupt in {request.source}", f"{report.corrupt:,}"),
        ("failed to verify", f"{report.failed:,}"),
    )
    print("", file=out)
    for label, value in rows:
        print(f"{label + ':':<24}{value}", file=out)
    problems = (
        ("missing", report.missing_keys),
        ("corrupt", report.corrupt_keys),
        ("failed", report.failed_keys),
    )
    for label, keys in problems:
        for sha256 in keys:
            users = result.users.get(sha256, ())
            used = f"used by {', '.join(users)}" if users else "used by no item (harmless)"
            print(f"  {label} {sha256}: {used}", file=out)


def print_switch(
    settings: Settings, request: CopyRequest, out: TextIO, environ: Mapping[str, str]
) -> None:
    """Write the new backend to the configuration file, or print the change to make; say why."""
    target = request.target
    toml_lines = f'    [storage]\n    backend = "{target}"'
    path = request.config_path
    written = False
    if path is not None:
        try:
            backup = write_backend(path, target)
        except (OSError, ConfigEditError) as exc:
            print(
                f"\nEvery blob is in {target}, but {path} could not be changed ({exc}).\n"
                f"Make the change yourself, in that file:\n{toml_lines}",
                file=out,
            )
        else:
            written = True
            print(
                f'\nSwitched: wrote backend = "{target}" under [storage] in {path}, the '
                f"configuration file this command read (the old one is kept as {backup.name}).",
                file=out,
            )
    else:
        print(
            "\nEvery blob is in the new store. No configuration file was given (--config, "
            "REFBIN_CONFIG or ./config.toml), so nothing was written: make this change where "
            f"each refbin process gets its configuration, either the environment variable\n"
            f"    {BACKEND_ENV}={target}\nor, in its config.toml:\n{toml_lines}",
            file=out,
        )
    if written and BACKEND_ENV in environ:
        print(
            f"Note: {BACKEND_ENV}={environ[BACKEND_ENV]} is set in this environment, and the "
            f"environment wins over the file: set it to {target} (or remove it) wherever refbin "
            "runs.",
            file=out,
        )
    if target == "s3":
        from_env = sorted(name for name in environ if name.startswith("REFBIN_STORAGE_S3_"))
        if from_env:
            print(
                f"Every refbin process needs the same [storage.s3] settings; this copy took "
                f"{', '.join(from_env)} from the environment.",
                file=out,
            )
    print(
        "Restart every refbin process to use the new store. Processes still running on the old "
        "one keep writing there until they restart: afterwards, run\n"
        f"    refbin storage copy --from {request.source} --to {target}\n"
        "once more; it copies only what is new. The old store was left as it was: remove it "
        "when you are satisfied.",
        file=out,
    )
