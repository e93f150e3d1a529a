"""The stand-in's users, guilds, roles, channels and members, rendered as Discord payloads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from .permissions import EVERYONE_DEFAULT, apply_overwrites, base_permissions
from .snowflakes import SnowflakeFactory

TEXT_CHANNEL = 0
DM_CHANNEL = 1
VOICE_CHANNEL = 2
CATEGORY_CHANNEL = 4


def iso_now() -> str:
    """A timestamp in the format Discord uses in payloads."""
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass(eq=False)
class User:
    """A Discord user (a person or a bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    discriminator: str = "0"
    avatar: str | None = None
    dms_open: bool = True  # False: DMs from the bot fail with 50007, as with closed DMs

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": self.discriminator,
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(eq=False)
class Role:
    """A guild role; the @everyone role shares the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    tags: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.tags is not None:
            payload["tags"] = self.tags
        return payload

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(eq=False)
class Channel:
    """A guild text/voice/category channel, or a DM channel (guild_id None, one recipient)."""

    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    permission_overwrites: list[dict[str, Any]] = field(default_factory=list)
    recipient: User | None = None
    last_message_id: int | None = None

    def to_payload(self, *, include_guild_id: bool = True) -> dict[str, Any]:
        if self.type == DM_CHANNEL:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": _opt_str(self.last_message_id),
                "flags": 0,
                "recipients": [self.recipient.to_payload()],
            }
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": _opt_str(self.parent_id),
            "permission_overwrites": self.permission_overwrites,
            "flags": 0,
        }
        if self.type == TEXT_CHANNEL:
            payload.update(
                topic=self.topic,
                nsfw=False,
                rate_limit_per_user=0,
                last_message_id=_opt_str(self.last_message_id),
            )
        elif self.type == VOICE_CHANNEL:
            payload.update(bitrate=64000, user_limit=0, rtc_region=None, nsfw=False)
        if include_guild_id and self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        return payload

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(eq=False)
class Member:
    """A user's membership of a guild."""

    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def to_payload(self, *, with_user: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if with_user:
            payload["user"] = self.user.to_payload()
        return payload


@dataclass(eq=False)
class Guild:
    """A guild: its roles (the first is @everyone), channels and members."""

    id: int
    name: str
    owner_id: int
    snowflakes: SnowflakeFactory = field(repr=False)
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    preferred_locale: str = "en-US"
    joined_at: str = field(default_factory=iso_now)

    def __post_init__(self) -> None:
        if not self.roles:
            self.roles.append(Role(id=self.id, name="@everyone", permissions=EVERYONE_DEFAULT))

    @property
    def everyone(self) -> Role:
        return self.roles[0]

    def add_role(self, name: str, *, permissions: int = 0, **extra: Any) -> Role:
        """Create a role above the existing ones."""
        role = Role(self.snowflakes.next(), name, permissions, position=len(self.roles), **extra)
        self.roles.append(role)
        return role

    def add_channel(
        self,
        name: str,
        *,
        type: int = TEXT_CHANNEL,
        topic: str | None = None,
        parent: Channel | None = None,
        permission_overwrites: list[dict[str, Any]] | None = None,
    ) -> Channel:
        """Create a channel at the end of the list."""
        channel = Channel(
            id=self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=self.id,
            position=len(self.channels),
            topic=topic,
            parent_id=parent.id if parent else None,
            permission_overwrites=permission_overwrites or [],
        )
        self.channels.append(channel)
        return channel

    def add_member(
        self, user: User, *, roles: tuple[Role, ...] = (), nick: str | None = None
    ) -> Member:
        """Make `user` a member with `roles` (@everyone is implicit, as in Discord)."""
        member = Member(user=user, roles=[r.id for r in roles], nick=nick)
        self.members[user.id] = member
        return member

    def member(self, user: User) -> Member:
        """The membership of `user`; ValueError when they are not in this guild."""
        try:
            return self.members[user.id]
        except KeyError:
            raise ValueError(f"{user.username} is not a member of guild {self.name!r}") from None

    def channel(self, name: str) -> Channel:
        """The channel called `name`."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def permissions_for(self, user: User, channel: Channel | None = None) -> int:
        """The member's permissions, in `channel` when given (overwrites applied)."""
        member = self.member(user)
        roles = [r for r in self.roles if r.id in member.roles]
        permissions = base_permissions(
            is_owner=user.id == self.owner_id,
            everyone=self.everyone.permissions,
            role_permissions=(r.permissions for r in roles),
        )
        if channel is None:
            return permissions
        return apply_overwrites(
            permissions,
            channel.permission_overwrites,
            guild_id=self.id,
            role_ids=member.roles,
            member_id=user.id,
        )

    def to_payload(self) -> dict[str, Any]:
        """The GUILD_CREATE payload: the guild object plus the gateway-only fields."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.to_payload() for r in self.roles],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "application_id": None,
            "incidents_data": None,
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.members),
            "members": [m.to_payload() for m in self.members.values()],
            "channels": [c.to_payload(include_guild_id=False) for c in self.channels],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)
