"""A guild: its roles, channels, threads and members, permissions, and its GUILD_CREATE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import (
    CATEGORY_CHANNEL,
    FORUM_CHANNEL,
    PRIVATE_THREAD,
    TEXT_CHANNEL,
    Channel,
    Member,
    Role,
    User,
    iso_now,
)
from .permissions import (
    EVERYONE_DEFAULT,
    MANAGE_THREADS,
    VIEW_CHANNEL,
    apply_overwrites,
    base_permissions,
)
from .snowflakes import SnowflakeFactory

REQUIRE_TAG = 1 << 4  # forum channel flag: a post needs at least one tag


@dataclass(eq=False)
class Guild:
    """A guild: its roles (the first is @everyone), channels, threads and members."""

    id: int
    name: str
    owner_id: int
    snowflakes: SnowflakeFactory = field(repr=False)
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    threads: list[Channel] = field(default_factory=list)
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
        tags: tuple[str, ...] = (),
        flags: int = 0,
    ) -> Channel:
        """Create a channel at the end of the list (`tags`: a forum's available tags)."""
        channel = Channel(
            id=self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=self.id,
            position=len(self.channels),
            topic=topic,
            parent_id=parent.id if parent else None,
            permission_overwrites=permission_overwrites or [],
            available_tags=[self._tag(name) for name in tags],
            flags=flags,
        )
        self.channels.append(channel)
        return channel

    def add_category(self, name: str) -> Channel:
        return self.add_channel(name, type=CATEGORY_CHANNEL)

    def add_forum(
        self,
        name: str,
        *,
        parent: Channel | None = None,
        tags: tuple[str, ...] = (),
        topic: str | None = None,
        require_tag: bool = False,
    ) -> Channel:
        """A forum channel (type 15), in category `parent`, offering `tags`."""
        flags = REQUIRE_TAG if require_tag else 0
        return self.add_channel(
            name, type=FORUM_CHANNEL, parent=parent, tags=tags, topic=topic, flags=flags
        )

    def _tag(self, name: str) -> dict[str, Any]:
        return {
            "id": str(self.snowflakes.next()),
            "name": name,
            "moderated": False,
            "emoji_id": None,
            "emoji_name": None,
        }

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

    def thread(self, name: str) -> Channel:
        """The thread (or forum post) called `name`."""
        for thread in self.threads:
            if thread.name == name:
                return thread
        raise KeyError(name)

    def get_channel(self, channel_id: int) -> Channel | None:
        """A channel or thread of this guild by id."""
        for channel in (*self.channels, *self.threads):
            if channel.id == channel_id:
                return channel
        return None

    def tag_id(self, forum: Channel, name: str) -> int:
        """The id of `forum`'s tag called `name`."""
        for tag in forum.available_tags:
            if tag["name"] == name:
                return int(tag["id"])
        raise KeyError(f"forum {forum.name!r} has no tag {name!r}")

    def permissions_for(self, user: User, channel: Channel | None = None) -> int:
        """The member's permissions, in `channel` when given (overwrites applied).

        A thread has its parent's permissions; a private thread is visible only to its members
        and to those who may manage threads, as on Discord.
        """
        if channel is not None and channel.thread is not None:
            parent = self.get_channel(channel.parent_id or 0)
            permissions = self.permissions_for(user, parent)
            hidden = (
                channel.type == PRIVATE_THREAD
                and user.id not in channel.thread.members
                and not permissions & MANAGE_THREADS
            )
            return permissions & ~VIEW_CHANNEL if hidden else permissions
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

    def to_payload(self, viewer: User | None = None) -> dict[str, Any]:
        """The GUILD_CREATE payload: the guild object plus the gateway-only fields.

        It lists the active threads `viewer` (the bot) can see, with its thread membership.
        """
        threads = [
            t.to_payload(member_id=viewer.id)
            for t in self.threads
            if viewer is not None
            and t.thread is not None
            and not t.thread.archived
            and self.permissions_for(viewer, t) & VIEW_CHANNEL
        ]
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
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }
