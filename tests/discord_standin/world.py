"""Everything the stand-in Discord knows: the application, users, guilds, messages, interactions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .cdn import AttachmentStore
from .commands import CommandRegistry
from .intents import application_flags
from .messages import MessageStore
from .models import DM_CHANNEL, TEXT_CHANNEL, Channel, Guild, User
from .permissions import BOT_DEFAULT, EVERYONE_DEFAULT, SEND_MESSAGES, VIEW_CHANNEL
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
        self.guilds: dict[int, Guild] = {}
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
    ) -> Guild:
        """A guild the bot has joined: its managed role, the owner as a member, text channels."""
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
        self.guilds[guild.id] = guild
        return guild

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between the bot and `user` (created once, as Discord does)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.snowflakes.next(), DM_CHANNEL, recipient=user)
            self.dm_channels[user.id] = channel
        return channel

    def channel(self, channel_id: int) -> Channel | None:
        for channel in self.dm_channels.values():
            if channel.id == channel_id:
                return channel
        for guild in self.guilds.values():
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return None

    def guild_of(self, channel: Channel) -> Guild | None:
        return None if channel.guild_id is None else self.guilds[channel.guild_id]

    def can_post(self, channel: Channel) -> bool:
        """Whether the bot may send messages in `channel` (always in DMs)."""
        guild = self.guild_of(channel)
        if guild is None or channel.type != TEXT_CHANNEL:
            return guild is None
        needed = VIEW_CHANNEL | SEND_MESSAGES
        return guild.permissions_for(self.bot_user, channel) & needed == needed

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
