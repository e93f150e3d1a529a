"""Installing the bot: the invite link, a global sync that leaves no duplicates, no prefix."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
import pytest

from bot.cli.main import main
from bot.config import Settings
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    running_refbin,
)

VIEW, SEND, MANAGE, EMBED, ATTACH, HISTORY = 1 << 10, 1 << 11, 1 << 13, 1 << 14, 1 << 15, 1 << 16
SEND_IN_THREADS = 1 << 38


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("REFBIN_CONFIG", "REFBIN_DISCORD_CLIENT_ID", "REFBIN_DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_config")
def test_invite_url_has_the_scopes_and_exactly_the_permissions_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REFBIN_DISCORD_CLIENT_ID", "123456789012345678")

    status = main(["bot", "--invite-url"])

    out, err = capsys.readouterr()
    permissions = VIEW | SEND | SEND_IN_THREADS | EMBED | ATTACH | HISTORY | MANAGE
    assert status == 0, err
    assert out == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        f"&scope=bot+applications.commands&permissions={permissions}\n"
    )
    assert err == ""  # no token needed, no database made


@pytest.mark.usefixtures("no_config")
def test_invite_url_without_client_id_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["bot", "--invite-url"])

    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert "discord.client_id" in err and "REFBIN_DISCORD_CLIENT_ID" in err


async def test_a_global_sync_clears_the_dev_servers_commands(discord_settings: Settings) -> None:
    async with running_refbin(discord_settings, bot_options={"sync_globally": True}) as refbin:
        in_dev_server = refbin.api.commands(refbin.guild)
        everywhere = refbin.api.commands()

    assert in_dev_server == []  # not shown twice there
    assert "shorten" in {c["name"] for c in everywhere}


async def test_a_mention_is_not_a_command_prefix(
    discord_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_refbin(discord_settings, discord_settings={"auto_paste": True}) as refbin:
        seen: asyncio.Queue[discord.Message] = asyncio.Queue()

        @refbin.bot.listen()
        async def on_message(message: discord.Message) -> None:
            await seen.put(message)

        bot_id = refbin.api.bot_user.id
        with caplog.at_level(logging.DEBUG, logger="discord.ext.commands"):
            await refbin.api.send_message(refbin.general, refbin.alice, f"<@{bot_id}> help")
            message = await asyncio.wait_for(seen.get(), 5)
            context = await refbin.bot.get_context(message)

    assert context.prefix is None and not context.valid
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
