"""The Discord bot: refbin's front door, assembled from its parts.

`run_bot` owns the bot's resources (as discord.py's examples/advanced_startup.py does): it
opens the aiohttp session the bot downloads attachments with, hands it to the bot together
with the content service and the settings, and closes both on the way out. The bot is handed
the service, not the process: it never sees the pool or the runtime.

Gateway intents are the least the features need: `guilds` (the server, channel and role cache
that permissions are worked out from). Only when `discord.auto_paste` is on does the bot also
ask for guild messages and the privileged Message Content intent, because auto-paste reads
what people post. Slash commands, buttons, forms and the "Save to refbin" menu need no intent:
Discord sends their data, the chosen message included, with the interaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.config import ConfigError, DiscordSettings, Settings
from bot.discord.tree import RefbinTree
from bot.service import ContentService
from bot.service.reminders import Clock

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.shorten",
    "cogs.paste",
    "cogs.upload",
    "cogs.save",
    "cogs.info",
    "cogs.mine",
    "cogs.delete",
    "cogs.settings",
    "cogs.reminders",
)
AUTO_PASTE_EXTENSION = "cogs.autopaste"
REMINDER_INTERVAL = 300.0
NO_PREFIX: list[str] = []  # startswith(()) matches nothing
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=60)


def utc_now() -> datetime:
    return datetime.now(UTC)


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """The gateway intents the configured features need, and no more."""
    intents = discord.Intents.none()
    intents.guilds = True
    if settings.auto_paste:
        intents.guild_messages = True
        intents.message_content = True
    return intents


class RefbinBot(commands.Bot):
    """The bot, with everything it works with handed in rather than made here."""

    def __init__(
        self,
        *,
        service: ContentService,
        settings: Settings,
        session: aiohttp.ClientSession,
        clock: Clock = utc_now,
        reminder_interval: float | None = REMINDER_INTERVAL,
        sync_globally: bool = False,
        **options: Any,
    ) -> None:
        dms = settings.discord.dms
        super().__init__(
            # Only app commands: no prefix matches, so "@refbin help" is not a command (and
            # logs no CommandNotFound).
            command_prefix=NO_PREFIX,
            help_command=None,
            intents=intents_for(settings.discord),
            tree_cls=RefbinTree,
            # Discord offers the commands in DMs only when the operator allows it (discord.dms).
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=dms, private_channel=dms
            ),
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.service = service
        self.settings = settings
        self.session = session
        self.clock = clock
        # None: no reminder rounds in the background (tests run them on their own clock).
        self.reminder_interval = reminder_interval if settings.discord.reminders else None
        self.sync_globally = sync_globally

    @property
    def extensions_to_load(self) -> tuple[str, ...]:
        if self.settings.discord.auto_paste:
            return (*EXTENSIONS, AUTO_PASTE_EXTENSION)
        return EXTENSIONS

    async def setup_hook(self) -> None:
        for extension in self.extensions_to_load:
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """To the development server at every start (instant); globally only when asked
        (`refbin bot --sync`), since global changes take a while to reach every client. A
        global sync clears the development server's copies, which would otherwise show every
        command twice there."""
        dev_guild = self.settings.discord.dev_guild
        if dev_guild:
            guild = discord.Object(dev_guild)
            if self.sync_globally:
                self.tree.clear_commands(guild=guild)
            else:
                self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d app commands to server %s", len(synced), dev_guild)
        if self.sync_globally:
            synced = await self.tree.sync()
            log.info("synced %d app commands globally", len(synced))

    async def on_ready(self) -> None:
        log.info("Discord bot %s is in %d servers", self.user, len(self.guilds))
        for guild in list(self.guilds):  # servers joined while the bot was not running
            await self.leave_if_not_allowed(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.leave_if_not_allowed(guild)

    async def leave_if_not_allowed(self, guild: discord.Guild) -> None:
        """Leave a server that `discord.allowed_guilds` does not name."""
        if self.settings.discord.allows_guild(guild.id):
            return
        log.info("leaving server %s (%s): not in discord.allowed_guilds", guild.id, guild.name)
        try:
            await guild.leave()
        except discord.HTTPException:
            log.warning("could not leave server %s", guild.id, exc_info=True)


class ShardedRefbinBot(RefbinBot, commands.AutoShardedBot):
    """The bot on several gateway shards (`discord.shard_count` > 0), for many servers."""


def create_bot(
    service: ContentService,
    settings: Settings,
    session: aiohttp.ClientSession,
    *,
    sync_globally: bool = False,
    **options: Any,
) -> RefbinBot:
    """A plain or sharded bot, as configured; `options` go to RefbinBot (and discord.py)."""
    shards = settings.discord.shard_count
    bot_class = ShardedRefbinBot if shards else RefbinBot
    if shards:
        options["shard_count"] = shards
    return bot_class(
        service=service,
        settings=settings,
        session=session,
        sync_globally=sync_globally,
        **options,
    )


async def run_bot(
    service: ContentService, settings: Settings, *, sync_globally: bool = False
) -> None:
    """Run the bot until it is closed or cancelled. A token Discord refuses, or an intent the
    application was not granted, is a ConfigError: one line, not a traceback."""
    token = settings.discord.token
    if not token:
        raise ConfigError("discord.token (or REFBIN_DISCORD_TOKEN) is not set")
    async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session:
        bot = create_bot(service, settings, session, sync_globally=sync_globally)
        async with bot:
            try:
                await bot.start(token)
            except discord.LoginFailure:
                raise ConfigError(
                    "discord.token: Discord refused the token; copy it again from the "
                    "developer portal (Bot > Reset Token)"
                ) from None
            except discord.PrivilegedIntentsRequired:
                raise ConfigError(
                    "discord.auto_paste needs the Message Content intent: switch it on in the "
                    "developer portal (Bot > Privileged Gateway Intents), or set auto_paste = false"
                ) from None
