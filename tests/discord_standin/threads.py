"""Threads and forum posts: starting them as Discord does, and their THREAD_* event payloads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .errors import DiscordHTTPError, invalid_form
from .guild import REQUIRE_TAG, Guild
from .models import (
    FORUM_CHANNEL,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT_CHANNEL,
    Channel,
    ThreadState,
    User,
    iso_now,
)
from .world import DiscordWorld

HAS_THREAD = 1 << 5  # message flag: a thread was started from this message
THREAD_CREATED = 18  # the system message a public thread leaves in its text channel
ARCHIVE_DURATIONS = frozenset({60, 1440, 4320, 10080})
THREAD_ALREADY_CREATED = 160004
CANNOT_SEND_IN_FORUM = 40058
TAG_REQUIRED = 40067
ARCHIVED_THREAD = 50083


def start_thread(
    world: DiscordWorld,
    parent: Channel,
    owner: User,
    name: str,
    *,
    type: int = PUBLIC_THREAD,
    thread_id: int | None = None,
    auto_archive_duration: int = 4320,
    invitable: bool = True,
    tags: Sequence[int] = (),
) -> Channel:
    """A new thread in a text or forum channel; its owner has joined it.

    A thread started from a message (or a forum post) shares that message's id.
    """
    guild = _guild(world, parent)
    if parent.type not in (TEXT_CHANNEL, FORUM_CHANNEL):
        raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
    if type not in (PUBLIC_THREAD, PRIVATE_THREAD) or (
        parent.type == FORUM_CHANNEL and type != PUBLIC_THREAD
    ):
        raise invalid_form("type", "BASE_TYPE_CHOICES", f"Value must be one of {{11, 12}}: {type}")
    if auto_archive_duration not in ARCHIVE_DURATIONS:
        raise invalid_form(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            f"Value must be one of {sorted(ARCHIVE_DURATIONS)}.",
        )
    if not 1 <= len(name) <= 100:
        raise invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    known_tags = {int(t["id"]) for t in parent.available_tags}
    if not set(tags) <= known_tags:
        raise invalid_form("applied_tags", "BASE_TYPE_CHOICES", "Unknown tag.")
    state = ThreadState(
        owner_id=owner.id,
        auto_archive_duration=auto_archive_duration,
        invitable=invitable,
        applied_tags=list(tags),
    )
    state.members[owner.id] = iso_now()
    thread = Channel(
        id=thread_id or world.snowflakes.next(),
        type=type,
        name=name,
        guild_id=guild.id,
        parent_id=parent.id,
        thread=state,
    )
    guild.threads.append(thread)
    return thread


def check_forum_tags(forum: Channel, tags: Sequence[int]) -> None:
    """A forum that requires a tag refuses a post without one (40067)."""
    if forum.flags & REQUIRE_TAG and not tags:
        raise DiscordHTTPError(
            400, TAG_REQUIRED, "A tag is required to create a forum post in this channel"
        )


def thread_from_message(
    world: DiscordWorld,
    message: dict[str, Any],
    owner: User,
    name: str,
    *,
    auto_archive_duration: int = 4320,
) -> Channel:
    """A public thread started from `message`: same id, and the message now points at it."""
    if message.get("thread"):
        raise DiscordHTTPError(
            400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
        )
    parent = world.channel(int(message["channel_id"]))
    assert parent is not None
    thread = start_thread(
        world,
        parent,
        owner,
        name,
        thread_id=int(message["id"]),
        auto_archive_duration=auto_archive_duration,
    )
    message["thread"] = thread.to_payload()
    message["flags"] |= HAS_THREAD
    return thread


def announce_thread(world: DiscordWorld, thread: Channel, owner: User) -> dict[str, Any] | None:
    """The THREAD_CREATED system message a public thread without a starter message leaves in
    its text channel (content: the thread's name); None for other threads."""
    parent = world.channel(thread.parent_id or 0)
    if parent is None or parent.type != TEXT_CHANNEL or thread.type != PUBLIC_THREAD:
        return None
    reference = {"channel_id": str(thread.id), "guild_id": str(thread.guild_id)}
    return world.messages.create(
        channel=parent,
        author=owner,
        content=thread.name or "",
        message_type=THREAD_CREATED,
        extra={"message_reference": reference},
    )


def discard(world: DiscordWorld, thread: Channel) -> None:
    """Remove a thread and its messages (deleted, or never fully made)."""
    guild = _guild(world, thread)
    guild.threads.remove(thread)
    world.messages.forget_channel(thread)


def join(thread: Channel, user: User) -> bool:
    """`user` joins `thread`; whether they were not a member before."""
    assert thread.thread is not None
    if user.id in thread.thread.members:
        return False
    thread.thread.members[user.id] = iso_now()
    return True


def thread_payload(
    world: DiscordWorld, thread: Channel, *, newly_created: bool = False
) -> dict[str, Any]:
    """THREAD_CREATE / THREAD_UPDATE: the thread, with the bot's membership if it has joined."""
    payload = thread.to_payload(member_id=world.bot_user.id)
    if newly_created:
        payload["newly_created"] = True
    return payload


def thread_delete_payload(thread: Channel) -> dict[str, Any]:
    return {
        "id": str(thread.id),
        "guild_id": str(thread.guild_id),
        "parent_id": str(thread.parent_id),
        "type": thread.type,
    }


def thread_list_sync_payload(
    world: DiscordWorld, guild: Guild, parents: Iterable[Channel] | None = None
) -> dict[str, Any]:
    """THREAD_LIST_SYNC: the active threads the bot sees (in `parents`, or the whole guild)."""
    parent_ids = None if parents is None else {p.id for p in parents}
    threads = [
        t
        for t in guild.threads
        if t.thread is not None
        and not t.thread.archived
        and (parent_ids is None or t.parent_id in parent_ids)
        and world.bot_sees(t)
    ]
    payload: dict[str, Any] = {
        "guild_id": str(guild.id),
        "threads": [t.to_payload() for t in threads],
        "members": [
            t.thread_member(world.bot_user.id)
            for t in threads
            if t.thread is not None and world.bot_user.id in t.thread.members
        ],
    }
    if parent_ids is not None:
        payload["channel_ids"] = [str(i) for i in sorted(parent_ids)]
    return payload


def _guild(world: DiscordWorld, channel: Channel) -> Guild:
    guild = world.guild_of(channel)
    if guild is None:
        raise DiscordHTTPError(400, 50003, "Cannot execute action on a DM channel")
    return guild
