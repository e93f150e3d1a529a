"""The `refbin` command line: serve, web, bot, add, info, rm, sweep, migrate, token."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.errors import RefbinError
from bot.models import Item, ItemOptions
from bot.runtime import open_runtime
from bot.units import parse_duration

log = logging.getLogger("refbin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refbin", description="A URL shortener, paste bin and file host in one."
    )
    parser.add_argument("--config", type=Path, help="a TOML file (default: ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("serve", help="run the web server, the jobs and (with a token) the bot")
    sub.add_parser("web", help="run the web server and the jobs, without the bot")
    bot = sub.add_parser("bot", help="run the Discord bot and the jobs, without the web server")
    bot.add_argument("--sync", action="store_true", help="sync app commands globally, then run")

    add = sub.add_parser("add", help="store a link, a file, or a paste from stdin (-)")
    add.add_argument("what", help="a http(s) link, a file path, or - for a paste on stdin")
    add.add_argument("--expires", type=_duration, help="e.g. 1h, 7d, 2w")
    add.add_argument("--max-views", type=int, help="gone after this many views")
    visibility = add.add_mutually_exclusive_group()
    visibility.add_argument("--private", action="store_true", help="a long, unguessable id")
    visibility.add_argument("--unlisted", action="store_true")
    add.add_argument("--language", help="the paste's language (default: guessed)")
    add.add_argument("--filename", help="the name to show for a paste or file")
    add.add_argument("--alias", help="a custom short id for a link")
    add.add_argument("--password", help="ask visitors for this password")

    info = sub.add_parser("info", help="print an item as JSON")
    info.add_argument("id")
    rm = sub.add_parser("rm", help="delete an item (as the operator)")
    rm.add_argument("id")
    block = sub.add_parser("block", help="block an item for everyone (it answers 451)")
    block.add_argument("id")
    block.add_argument("--reason", required=True, help="shown to visitors")
    unblock = sub.add_parser("unblock", help="lift a block")
    unblock.add_argument("id")
    sub.add_parser("sweep", help="remove expired items, unused blobs and stale temporary files")
    sub.add_parser("migrate", help="apply the database migrations")

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="make a token for a new API user")
    create.add_argument("name")
    revoke = token_sub.add_parser("revoke", help="revoke the tokens with this name")
    revoke.add_argument("name")

    storage = sub.add_parser("storage", help="manage the blob store")
    storage_sub = storage.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = storage_sub.add_parser(
        "copy", help="copy every blob to another store, verified, then switch to it"
    )
    copy.add_argument("--to", required=True, choices=("s3", "local"), help="the new store")
    copy.add_argument(
        "--from", dest="source", choices=("s3", "local"), help="default: storage.backend"
    )
    copy.add_argument("--jobs", type=int, default=4, help="blobs copied at once (default 4)")
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
    return parser


def _duration(text: str) -> object:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = args.command not in ("serve", "web", "bot")
    logging.basicConfig(
        level=os.environ.get("REFBIN_LOG_LEVEL", "WARNING" if quiet else "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("discord", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(_config_path(args.config))
        return _run(args, settings)
    except ConfigError as exc:
        print(f"refbin: configuration error: {exc}", file=sys.stderr)
        return 1
    except RefbinError as exc:
        print(f"refbin: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"refbin: {exc}", file=sys.stderr)
        return 1


def _config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if os.environ.get("REFBIN_CONFIG"):
        return Path(os.environ["REFBIN_CONFIG"])
    default = Path("config.toml")
    return default if default.is_file() else None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command in ("serve", "web", "bot"):
        from bot import server

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
    )
    what: str = args.what
    is_file = what != "-" and Path(what).is_file()  # noqa: ASYNC240 - before any other I/O
    # Anything with a scheme is a link, so that `javascript:…` gets the service's own refusal.
    is_link = not is_file and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", what.strip()) is not None
    if what != "-" and not is_link and not is_file:
        raise RefbinError(f"{what}: no such file (and not a http(s) link)")
    async with open_runtime(settings) as runtime:
        service = runtime.service
        if what == "-":
            text = sys.stdin.buffer.read().decode("utf-8", "replace")
            created = await service.add_paste(
                text, language=args.language, filename=args.filename, options=options
            )
        elif is_link:
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
            await service.delete(args.id, admin=True)
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
        elif args.command == "migrate":
            print("migrations are up to date")  # open_runtime has just applied them
        elif args.command == "token" and args.action == "create":
            print(await service.create_api_token(args.name))
        elif args.command == "token" and args.action == "revoke":
            count = await service.revoke_api_token(args.name)
            if not count:
                raise RefbinError(f"no live token is named {args.name!r}")
            print(f"revoked {count} token(s)")
    return 0


def item_json(item: Item, url: str) -> dict[str, object]:
    """An item as JSON-ready data: the kind's own fields and none of another kind's."""
    data: dict[str, object] = {"id": item.content_id, "url": url}
    for key, value in dataclasses.asdict(item).items():
        if value is None or key == "content_id":
            continue
        data[key] = value.isoformat() if isinstance(value, datetime) else value
    data.setdefault("expires_at", None)
    return data
