"""The stand-in's users, roles, channels, threads and members, rendered as Discord payloads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

TEXT_CHANNEL = 0
DM_CHANNEL = 1
VOICE_CHANNEL = 2
CATEGORY_CHANNEL = 4
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM_CHANNEL = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
MAX_COUNTED_THREAD_MEMBERS = 50  # Discord's member_count stops counting at 50


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
class ThreadState:
    """What a thread has beyond a channel: its owner, metadata, counts and members."""

    owner_id: int
    auto_archive_duration: int = 4320
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    created_at: str = field(default_factory=iso_now)
    archive_timestamp: str = field(default_factory=iso_now)
    message_count: int = 0  # without the starter message, as Discord counts
    total_message_sent: int = 0
    members: dict[int, str] = field(default_factory=dict)  # user id -> when they joined
    applied_tags: list[int] = field(default_factory=list)

    def metadata(self, *, private: bool) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "archived": self.archived,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": self.archive_timestamp,
            "locked": self.locked,
            "create_timestamp": self.created_at,
        }
        if private:
            metadata["invitable"] = self.invitable
        return metadata


@dataclass(eq=False)
class Channel:
    """A guild channel (text, voice, category, forum), a thread, or a DM channel.

    A DM channel has no guild and one recipient; a thread has `thread` state and its parent
    (a text or forum channel) as `parent_id`; a forum has `available_tags`.
    """

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
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0  # e.g. a forum's REQUIRE_TAG (1 << 4)
    thread: ThreadState | None = None

    @property
    def is_thread(self) -> bool:
        return self.thread is not None

    def to_payload(
        self, *, include_guild_id: bool = True, member_id: int | None = None
    ) -> dict[str, Any]:
        """The channel object; for a thread, `member` says `member_id` (the bot) has joined."""
        if self.type == DM_CHANNEL:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": _opt_str(self.last_message_id),
                "flags": 0,
                "recipients": [self.recipient.to_payload()],
            }
        if self.thread is not None:
            return self._thread_payload(self.thread, member_id)
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": _opt_str(self.parent_id),
            "permission_overwrites": self.permission_overwrites,
            "flags": self.flags,
        }
        if self.type in (TEXT_CHANNEL, FORUM_CHANNEL):
            payload.update(
                topic=self.topic,
                nsfw=False,
                rate_limit_per_user=0,
                last_message_id=_opt_str(self.last_message_id),
                default_auto_archive_duration=4320,
                default_thread_rate_limit_per_user=0,
            )
        if self.type == FORUM_CHANNEL:
            payload.update(
                available_tags=self.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
            )
        elif self.type == VOICE_CHANNEL:
            payload.update(bitrate=64000, user_limit=0, rtc_region=None, nsfw=False)
        if include_guild_id and self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        return payload

    def _thread_payload(self, thread: ThreadState, member_id: int | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent_id),
            "owner_id": str(thread.owner_id),
            "name": self.name,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "message_count": thread.message_count,
            "member_count": min(len(thread.members), MAX_COUNTED_THREAD_MEMBERS),
            "total_message_sent": thread.total_message_sent,
            "thread_metadata": thread.metadata(private=self.type == PRIVATE_THREAD),
            "flags": 0,
            "nsfw": False,
        }
        if thread.applied_tags:
            payload["applied_tags"] = [str(t) for t in thread.applied_tags]
        if member_id is not None and member_id in thread.members:
            payload["member"] = self.thread_member(member_id)
        return payload

    def thread_member(self, user_id: int) -> dict[str, Any]:
        """The thread member object for `user_id` (who must have joined)."""
        assert self.thread is not None
        joined = self.thread.members[user_id]
        return {"id": str(self.id), "user_id": str(user_id), "join_timestamp": joined, "flags": 0}

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


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)
