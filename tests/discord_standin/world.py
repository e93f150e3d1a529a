"""Everything the stand-in Discord knows: the application, users, guilds, messages, interactions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .cdn import AttachmentStore
from .commands import CommandRegistry
from .guild import Guild
from .intents import application_flags
from .messages import MessageStore
from .models import DM_CHANNEL, Channel, User, iso_now
from .permissions import BOT_DEFAULT, EVERYONE_DEFAULT, VIEW_CHANNEL
from .snowflakes import SnowflakeFactory


@dataclass(eq=False)
class InteractionState:
    """An interaction sent to the bot and what the bot has done with it so far."""

    payload: dict[str, Any]
    user: User
    channel: Channel
    created_at: float
    response_type: int | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return self.payload["token"]

    @property
    def type(self) -> int:
        return self.payload["type"]


class DiscordWorld:
    """The stand-in's state. The REST handlers, the gateway and the test helpers all share it."""

    def __init__(self, *, token: str, bot_name: str, privileged_intents: int, cdn_chunk_size: int):
        self.token = token
        self.privileged_intents = privileged_intents
        self.snowflakes = SnowflakeFactory()
        self.application_id = self.snowflakes.next()
        self.bot_user = User(self.application_id, bot_name, bot=True, discriminator="4821")
        self.owner = User(self.snowflakes.next(), "app-owner")
        self.users: dict[int, User] = {u.id: u for u in (self.bot_user, self.owner)}
        self.guilds: dict[int, Guild] = {}  # the guilds the bot is in
        self.other_guilds: dict[int, Guild] = {}  # not (yet, or no longer) the bot's
        self.dm_channels: dict[int, Channel] = {}
        self.attachments = AttachmentStore("", chunk_size=cdn_chunk_size)
        self.messages = MessageStore(self.snowflakes, self.attachments, self.users.get)
        self.commands = CommandRegistry(self.snowflakes, self.application_id)
        self.interactions: dict[int, InteractionState] = {}

    @property
    def application_flags(self) -> int:
        return application_flags(self.privileged_intents)

    def create_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.snowflakes.next(), username, global_name=username.title(), bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str,
        *,
        channels: tuple[str, ...] = ("general",),
        owner: User | None = None,
        everyone_permissions: int = EVERYONE_DEFAULT,
        bot_permissions: int = BOT_DEFAULT,
        joined: bool = True,
    ) -> Guild:
        """A guild with its owner as a member and text channels; the bot's managed role and
        membership too, though until `join` a guild created with `joined=False` is not the
        bot's (not in READY, its channels answer Missing Access)."""
        owner = owner or self.create_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(self.snowflakes.next(), name, owner.id, self.snowflakes)
        guild.everyone.permissions = everyone_permissions
        bot_role = guild.add_role(
            self.bot_user.username,
            permissions=bot_permissions,
            managed=True,
            tags={"bot_id": str(self.bot_user.id)},
        )
        guild.add_member(self.bot_user, roles=(bot_role,))
        guild.add_member(owner)
        for channel_name in channels:
            guild.add_channel(channel_name)
        (self.guilds if joined else self.other_guilds)[guild.id] = guild
        return guild

    def join(self, guild: Guild) -> None:
        """The bot is added to `guild` (now, as far as joined_at says)."""
        self.other_guilds.pop(guild.id, None)
        guild.joined_at = iso_now()
        self.guilds[guild.id] = guild

    def leave(self, guild: Guild) -> None:
        """The bot leaves (or is removed from) `guild`."""
        del self.guilds[guild.id]
        self.other_guilds[guild.id] = guild

    def guild(self, guild_id: int) -> Guild | None:
        """A guild by id, whether or not the bot is in it."""
        return self.guilds.get(guild_id) or self.other_guilds.get(guild_id)

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between the bot and `user` (created once, as Discord does)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.snowflakes.next(), DM_CHANNEL, recipient=user)
            self.dm_channels[user.id] = channel
        return channel

    def channel(self, channel_id: int) -> Channel | None:
        """A DM channel, or a channel or thread of any guild (the bot's or not)."""
        for channel in self.dm_channels.values():
            if channel.id == channel_id:
                return channel
        for guild in (*self.guilds.values(), *self.other_guilds.values()):
            found = guild.get_channel(channel_id)
            if found is not None:
                return found
        return None

    def guild_of(self, channel: Channel) -> Guild | None:
        return None if channel.guild_id is None else self.guild(channel.guild_id)

    def bot_permissions(self, channel: Channel) -> int | None:
        """The bot's permissions in a guild channel; None in DMs; 0 where the bot is not."""
        guild = self.guild_of(channel)
        if guild is None:
            return None
        if guild.id not in self.guilds:
            return 0
        return guild.permissions_for(self.bot_user, channel)

    def bot_sees(self, channel: Channel) -> bool:
        """Whether Discord sends the bot events from `channel` (it must be able to view it)."""
        permissions = self.bot_permissions(channel)
        return permissions is None or bool(permissions & VIEW_CHANNEL)

    def guild_create(self, guild: Guild, *, joined_now: bool = False) -> dict[str, Any]:
        """GUILD_CREATE for `guild` as the bot receives it. For a guild it was just added to
        there is no `unavailable` (which discord.py reads as a join, not a guild coming back)."""
        payload = guild.to_payload(self.bot_user)
        if joined_now:
            del payload["unavailable"]
        return payload

    def message_event(self, message: dict[str, Any]) -> dict[str, Any]:
        """A stored message as MESSAGE_CREATE/UPDATE carries it: plus guild_id and member."""
        event = dict(message)
        channel = self.channel(int(message["channel_id"]))
        guild = None if channel is None else self.guild_of(channel)
        if guild is not None:
            event["guild_id"] = str(guild.id)
            member = guild.members.get(int(message["author"]["id"]))
            if member is not None and not message.get("webhook_id"):
                event["member"] = member.to_payload(with_user=False)
        return event

    def delete_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Delete a stored message; the MESSAGE_DELETE payload (a thread counts one fewer)."""
        self.messages.delete(int(message["id"]))
        channel = self.channel(int(message["channel_id"]))
        if channel is not None and channel.thread is not None and message.get("position"):
            channel.thread.message_count = max(0, channel.thread.message_count - 1)
        event = {"id": message["id"], "channel_id": message["channel_id"]}
        if channel is not None and channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        return event

    def new_interaction_token(self) -> str:
        return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)

    def application_payload(self) -> dict[str, Any]:
        """GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": secrets.token_hex(32),
            "owner": self.owner.to_payload(),
            "team": None,
            "flags": self.application_flags,
            "bot": self.bot_user.to_payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }
