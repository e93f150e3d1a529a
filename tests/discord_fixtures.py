"""refbin's real bot against the Discord stand-in, with a real database and real storage.

`running_refbin(settings)` starts the stand-in with two servers and a few users, opens the
runtime (database, storage, content service) and runs `RefbinBot` against the stand-in; tests
act as users and look at what the bot answered, in the stand-in's records, in Postgres and in
storage. The `refbin` fixture is the usual case (take it with
`from tests.discord_fixtures import refbin_fixture  # noqa: F401`); tests that need other
settings call `running_refbin` with `discord_settings` changed. Both use one database for all
Discord tests, emptied before each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import discord
import pytest

from bot.config import DatabaseSettings, Settings, load_settings
from bot.discord.app import RefbinBot, create_bot
from bot.runtime import Runtime, open_runtime
from tests.conftest import PostgresServer, cloned_database
from tests.discord_standin import (
    Channel,
    DiscordStandin,
    Guild,
    InteractionCallback,
    RecordedRequest,
    User,
)
from tests.discord_standin.permissions import EVERYONE_DEFAULT, MANAGE_MESSAGES

EPHEMERAL = 1 << 6
DEFERRED, DEFERRED_UPDATE, MODAL = 5, 6, 9


class Clock:
    """The reminders' clock, set by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class Answer:
    """What the bot answered an interaction, as the user sees it: the response (or, after a
    deferral, the follow-up that filled it) and the message it made or changed."""

    type: int  # the callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 9 modal
    data: dict[str, Any]  # the callback's data, or the follow-up's or the edit's body
    message: dict[str, Any] | None
    callback: InteractionCallback
    request: RecordedRequest  # the request that carried the answer: callback, follow-up, edit

    @property
    def content(self) -> str:
        return self.data.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds") or []

    @property
    def ephemeral(self) -> bool:
        flags = (self.message or {}).get("flags", self.data.get("flags") or 0)
        return bool(flags & EPHEMERAL)

    @property
    def text(self) -> str:
        """Everything readable: content, embed titles, descriptions and fields."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        return "\n".join(p for p in parts if p)

    def button_labels(self) -> list[str]:
        return [
            c.get("label", "") for row in self.data.get("components", []) for c in row["components"]
        ]


@dataclass
class RefbinDiscord:
    """The running bot, the stand-in and the cast: a server with members, and another one."""

    api: DiscordStandin
    bot: RefbinBot
    runtime: Runtime
    clock: Clock
    guild: Guild
    other_guild: Guild
    owner: User  # owns `guild`
    alice: User
    bob: User
    mod: User  # has Manage Messages in `guild`, is a plain member of `other_guild`
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def general(self) -> Channel:
        return self.guild.channel("general")

    @property
    def service(self) -> Any:
        return self.runtime.service

    async def command(
        self,
        name: str,
        *,
        user: User,
        options: Mapping[str, Any] | None = None,
        channel: Channel | None = None,
    ) -> Answer:
        """`user` runs `/name` with `options`; the bot's answer."""
        interaction = await self.api.slash_command(
            name, user=user, channel=channel or self.general, options=options
        )
        return await self.answer_to(interaction)

    async def answer_to(self, interaction: dict[str, Any]) -> Answer:
        callback = await self.api.wait_for_callback(interaction)
        if callback.type == DEFERRED_UPDATE:
            # the button's message edited, or (after an error) a new ephemeral message
            webhook = f"/webhooks/{self.api.application_id}/{re.escape(interaction['token'])}"
            edit = await self.api.wait_for_request(
                path=re.compile(webhook + "(/messages/@original)?"),
                predicate=lambda r: r.method in ("PATCH", "POST") and r.status != 429,
            )
            message = self.api.world.messages.get(int(edit.response["id"]))
            return Answer(callback.type, edit.json or {}, message, callback, edit)
        if callback.type != DEFERRED:
            return Answer(
                callback.type, callback.data, callback.message, callback, callback.request
            )
        followup = await self.api.wait_for_followup(interaction)
        message = self.api.world.messages.get(int(followup.response["id"]))
        return Answer(
            callback.type, followup.json or {}, message or followup.response, callback, followup
        )

    async def click(self, answer: Answer, label: str, *, user: User) -> Answer:
        """`user` presses the button labelled `label` under the message of `answer`."""
        assert answer.message is not None, "that answer made no message"
        message = self.api.message(answer.message["id"])
        click = await self.api.click_button(message, user=user, label=label)
        return await self.answer_to(click)

    async def submit(self, modal: Answer, values: Mapping[str, str]) -> Answer:
        assert modal.type == MODAL, f"expected a modal, got callback type {modal.type}"
        submitted = await self.api.submit_modal(modal.callback, values)
        return await self.answer_to(submitted)

    async def sync_to(self, guild: Guild) -> None:
        """Make the bot's commands available in another server too."""
        target = discord.Object(guild.id)
        self.bot.tree.copy_global_to(guild=target)
        await self.bot.tree.sync(guild=target)


@contextlib.asynccontextmanager
async def running_refbin(
    settings: Settings,
    *,
    standin: Mapping[str, Any] | None = None,
    bot_options: Mapping[str, Any] | None = None,
    discord_settings: Mapping[str, Any] | Callable[[Guild, Guild], Mapping[str, Any]] | None = None,
) -> AsyncIterator[RefbinDiscord]:
    """The bot running against a fresh stand-in, on the test's database and storage."""
    async with DiscordStandin(**(standin or {})) as api:
        owner, alice, bob, mod = (api.create_user(n) for n in ("owner", "alice", "bob", "mod"))
        guild = api.create_guild(
            "Refbin Test", channels=("general", "code"), owner=owner, members=[alice, bob]
        )
        mods = guild.add_role("Mods", permissions=EVERYONE_DEFAULT | MANAGE_MESSAGES)
        guild.add_member(mod, roles=(mods,))
        other = api.create_guild("Elsewhere", members=[alice, bob, mod])
        configured = dataclasses.replace(
            settings,
            discord=dataclasses.replace(
                settings.discord,
                token=api.token,
                dev_guild=guild.id,
                # a callable: settings that name the cast's servers (allowed_guilds)
                **dict(
                    discord_settings(guild, other)
                    if callable(discord_settings)
                    else discord_settings or {}
                ),
            ),
        )
        clock = Clock()
        async with open_runtime(configured) as runtime, aiohttp.ClientSession() as session:
            bot = create_bot(
                runtime.service,
                runtime.settings,
                session,
                clock=clock,
                reminder_interval=None,
                guild_ready_timeout=0.05,
                **dict(bot_options or {}),
            )
            async with api.running(bot, wait_ready=True):
                yield RefbinDiscord(
                    api=api,
                    bot=bot,
                    runtime=runtime,
                    clock=clock,
                    guild=guild,
                    other_guild=other,
                    owner=owner,
                    alice=alice,
                    bob=bob,
                    mod=mod,
                )


KEPT_TABLES = ("schema_migrations", "instance")


@pytest.fixture(scope="session")
async def discord_database(postgres: PostgresServer, template_database: str) -> AsyncIterator[str]:
    """One migrated database for the Discord tests, emptied before each test (much quicker
    than a database per test, which these many short tests would spend most of their time on).

    Each test module importing it gets its own (pytest keys fixtures by where they are found).
    """
    async with cloned_database(postgres, template_database, "refbin_discord") as dsn:
        yield dsn


@pytest.fixture(name="discord_settings")
async def discord_settings_fixture(discord_database: str, tmp_path: Path) -> Settings:
    """Like conftest's `settings`, on the emptied Discord test database."""
    conn = await asyncpg.connect(discord_database)
    try:
        tables = await conn.fetch(
            """
            SELECT quote_ident(tablename) AS name
            FROM pg_tables
            WHERE schemaname = 'public'
              AND tablename <> ALL($1::text[])
            """,
            list(KEPT_TABLES),
        )
        # DELETE, not TRUNCATE: on these small tables it takes milliseconds instead of a
        # quarter of a second; the replica role skips the foreign-key triggers (and so the order)
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table in tables:
                await conn.execute(f"DELETE FROM {table['name']}")
    finally:
        await conn.close()
    base = load_settings(None, environ={})
    return dataclasses.replace(
        base,
        database=DatabaseSettings(url=discord_database, data_dir=tmp_path / "data", pool_max=5),
        limits=dataclasses.replace(base.limits, rate_create=0, rate_read=0, rate_delete=0),
        secret="test-secret-" + "x" * 32,
    )


@pytest.fixture(name="refbin")
async def refbin_fixture(discord_settings: Settings) -> AsyncIterator[RefbinDiscord]:
    """The bot with default settings, running against the stand-in."""
    async with running_refbin(discord_settings) as running:
        yield running
