"""The bot as a whole: how it starts, syncs, shards, fails, answers errors and rate limits."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.config import ConfigError, Settings
from bot.discord.app import ShardedRefbinBot, run_bot
from bot.runtime import open_runtime
from bot.service import MAX_VIEWS_LIMIT
from bot.service.links import MAX_LINK_LENGTH
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
    running_refbin,
)
from tests.discord_standin import DiscordStandin

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "Save to refbin",
    "delete",
    "info",
    "mine",
    "paste",
    "reminders",
    "settings",
    "shorten",
    "upload",
]


async def test_commands_are_synced_to_the_dev_server_and_not_globally(
    refbin: RefbinDiscord,
) -> None:
    synced = refbin.api.commands(refbin.guild)

    assert sorted(c["name"] for c in synced) == COMMANDS
    assert refbin.api.commands() == []
    settings = next(c for c in synced if c["name"] == "settings")
    assert int(settings["default_member_permissions"]) == 1 << 5  # Manage Server
    assert settings["contexts"] == [0]  # servers only


async def test_command_options_carry_the_services_limits_and_kind_names(
    refbin: RefbinDiscord,
) -> None:
    synced = {c["name"]: c for c in refbin.api.commands(refbin.guild)}
    shorten = {o["name"]: o for o in synced["shorten"]["options"]}
    mine = {o["name"]: o for o in synced["mine"]["options"]}

    assert shorten["url"]["max_length"] == MAX_LINK_LENGTH == 2048
    assert shorten["max_views"]["max_value"] == MAX_VIEWS_LIMIT
    assert [(c["name"], c["value"]) for c in mine["kind"]["choices"]] == [
        ("links", "url"),
        ("pastes", "text"),
        ("images", "image"),
        ("files", "file"),
    ]


async def test_sync_globally_when_asked(discord_settings: Settings) -> None:
    async with running_refbin(discord_settings, bot_options={"sync_globally": True}) as refbin:
        assert sorted(c["name"] for c in refbin.api.commands()) == COMMANDS


async def test_every_message_the_bot_sends_pings_nobody(refbin: RefbinDiscord) -> None:
    await refbin.command("shorten", user=refbin.alice, options={"url": "https://example.com/"})
    await refbin.command("shorten", user=refbin.alice, options={"url": "ftp://example.com/"})
    form = await refbin.command("paste", user=refbin.alice)
    await refbin.submit(form, {"Text": "@everyone <@&1> <@2>"})

    bodies = []
    for request in refbin.api.requests:
        body = request.json if isinstance(request.json, dict) else {}
        if request.path.endswith("/callback"):
            body = body.get("data") or {} if body.get("type") in (4, 7) else {}
        if "content" in body or "embeds" in body:
            bodies.append(body)
    assert len(bodies) >= 3
    assert all(b["allowed_mentions"]["parse"] == [] for b in bodies)


async def test_an_unexpected_error_is_logged_with_a_reference_the_user_sees(
    refbin: RefbinDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(content_id: str) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(refbin.service, "get", broken)

    with caplog.at_level(logging.ERROR, logger="bot.discord.tree"):
        answer = await refbin.command("info", user=refbin.alice, options={"id": "abc"})

    assert answer.ephemeral
    match = re.search(r"reference `([0-9a-f]{8})`", answer.content)
    assert match is not None, answer.content
    [record] = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert "/info" in record.getMessage()
    assert record.exc_info is not None and "the disk is on fire" in str(record.exc_info[1])
    assert "fire" not in answer.content


async def test_a_rate_limited_follow_up_waits_for_retry_after(refbin: RefbinDiscord) -> None:
    refbin.api.rate_limit("POST", "/webhooks/{app}/{token}", retry_after=0.3)

    answer = await refbin.command(
        "shorten", user=refbin.alice, options={"url": "https://example.com/patient"}
    )

    assert answer.embeds
    limited, accepted = refbin.api.find_requests("POST", "/webhooks/{app}/{token}")
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.at - limited.at >= 0.3


async def test_a_sharded_bot_runs_every_shard_and_answers(
    discord_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def identify_at_once(self: object, shard_id: int | None, *, initial: bool) -> None:
        """discord.py waits 5 s between shards for Discord's identify limit; not here."""

    monkeypatch.setattr(ShardedRefbinBot, "before_identify_hook", identify_at_once)
    async with running_refbin(
        discord_settings, standin={"shard_count": 2}, discord_settings={"shard_count": 2}
    ) as refbin:
        answer = await refbin.command(
            "shorten", user=refbin.alice, options={"url": "https://example.com/sharded"}
        )
        other = await refbin.api.slash_command(
            "info", user=refbin.alice, channel=refbin.general, options={"id": "x"}
        )
        info = await refbin.answer_to(other)
        shards = sorted(s.shard for s in refbin.api.sessions if s.shard)

    assert isinstance(refbin.bot, ShardedRefbinBot)
    assert shards == [(0, 2), (1, 2)]
    assert answer.embeds and info.content == "No such item."


async def test_a_refused_token_is_a_configuration_error(discord_settings: Settings) -> None:
    async with DiscordStandin() as api:
        settings = dataclasses.replace(
            discord_settings, discord=dataclasses.replace(discord_settings.discord, token="nope")
        )
        async with open_runtime(settings) as runtime:
            with pytest.raises(ConfigError, match="Discord refused the token"):
                await run_bot(runtime.service, runtime.settings)
        assert api.find_requests("GET", "/users/@me")[0].status == 401


async def test_auto_paste_without_the_intent_granted_is_a_configuration_error(
    discord_settings: Settings,
) -> None:
    async with DiscordStandin(privileged_intents=0) as api:
        discord = dataclasses.replace(discord_settings.discord, token=api.token, auto_paste=True)
        settings = dataclasses.replace(discord_settings, discord=discord)
        async with open_runtime(settings) as runtime:
            with pytest.raises(ConfigError, match="needs the Message Content intent"):
                await run_bot(runtime.service, runtime.settings)


def refbin_process_code(api: DiscordStandin) -> str:
    """`refbin` in a child process, its discord.py pointed at the stand-in."""
    return (
        "import sys\n"
        "from bot.cli.main import main\n"
        "from tests.discord_standin.patching import discord_pointed_at\n"
        f"with discord_pointed_at(api_base={api.api_url!r}, gateway_url={api.gateway_url!r},"
        f" cdn_base={api.url!r}):\n"
        "    sys.exit(main(sys.argv[1:]))\n"
    )


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REFBIN_DATABASE_URL": settings.database.url,
        "REFBIN_DATABASE_DATA_DIR": str(settings.data_dir),
        "REFBIN_SECRET": settings.secret,
        "REFBIN_LOG_LEVEL": "WARNING",
        **extra,
    }


async def test_refbin_bot_with_a_bad_token_says_so_in_one_line(
    discord_settings: Settings,
) -> None:
    async with DiscordStandin() as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            refbin_process_code(api),
            "bot",
            cwd=ROOT,
            env=child_env(discord_settings, REFBIN_DISCORD_TOKEN="not-the-token"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert "Traceback" not in stderr.decode()
    assert lines[-1].startswith("refbin: configuration error: discord.token: Discord refused")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_refbin_serve_runs_the_bot_beside_the_web_server(discord_settings: Settings) -> None:
    async with DiscordStandin(timeout=60) as api:
        alice = api.create_user("alice")
        guild = api.create_guild("Served", members=[alice])
        port = free_port()
        env = child_env(
            discord_settings,
            REFBIN_DISCORD_TOKEN=api.token,
            REFBIN_DISCORD_DEV_GUILD=str(guild.id),
            REFBIN_SERVER_PORT=str(port),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            refbin_process_code(api),
            "serve",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.gateway.ready.wait_for(lambda _: True, what="refbin serve to IDENTIFY")
            path = f"/applications/{api.application_id}/guilds/{guild.id}/commands"
            await api.wait_for_request("PUT", path)
            command = await api.slash_command(
                "shorten",
                user=alice,
                channel=guild.channels[0],
                options={"url": "https://example.com/served"},
            )
            await api.wait_for_callback(command)
            followup = await api.wait_for_followup(command)
            async with aiohttp.ClientSession() as http:
                short_url = followup.json["embeds"][0]["url"]
                async with http.get(short_url, allow_redirects=False) as response:
                    status, location = response.status, response.headers.get("Location")
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert short_url.startswith(f"http://127.0.0.1:{port}/")
    assert (status, location) == (302, "https://example.com/served")
    assert process.returncode == 0, stderr.decode()


async def test_refbin_bot_sync_syncs_the_commands_globally(discord_settings: Settings) -> None:
    async with DiscordStandin(timeout=60) as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            refbin_process_code(api),
            "bot",
            "--sync",
            cwd=ROOT,
            env=child_env(discord_settings, REFBIN_DISCORD_TOKEN=api.token),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.wait_for_request("PUT", f"/applications/{api.application_id}/commands")
            await api.gateway.ready.wait_for(lambda _: True, what="refbin bot to IDENTIFY")
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert sorted(c["name"] for c in api.commands()) == COMMANDS
    assert process.returncode == 0, stderr.decode()
