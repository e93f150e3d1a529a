"""`refbin storage copy --to s3|local`: have the content service copy every blob the database
lists to another store, verified by sha256, report what happened, and only then switch the
configuration to the new store. (The copy engine itself is storage/copy.py.)"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.errors import RefbinError
from bot.runtime import open_runtime, open_store
from bot.service.blobs import StoreCopy
from bot.units import format_size

BACKENDS = ("local", "s3")
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


class ConfigEditError(Exception):
    """The file could not be changed safely; the change is printed instead."""


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
        try:
            # The runtime's store is the source; the target is opened beside it.
            runtime = await stack.enter_async_context(
                open_runtime(settings_for_backend(settings, request.source))
            )
            target, stager = await stack.enter_async_context(
                open_store(settings_for_backend(settings, request.target))
            )
        except ValueError as exc:  # S3Settings: no bucket, half a key pair, tiny parts
            raise RefbinError(f"storage.s3: {exc}") from None
        result = await runtime.service.copy_blobs_to(
            target,
            stager,
            jobs=request.jobs,
            verify_existing=request.verify_existing,
            progress=_progress_printer(err),
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


def _progress_printer(err: TextIO) -> Callable[[int, int], None]:
    """A line on stderr every PROGRESS_EVERY blobs, so a long copy shows it is moving."""

    def progress(done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0:
            print(f"… {done:,} of {total:,} blobs", file=err, flush=True)

    return progress


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
