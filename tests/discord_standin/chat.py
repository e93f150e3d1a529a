"""Test helpers for what people do in chat: post, edit and delete messages, start threads and
forum posts; and what the bot sent them in DMs. Mixed into DiscordStandin."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import threads
from .models import PRIVATE_THREAD, PUBLIC_THREAD, Channel, User
from .records import RecordedRequest

if TYPE_CHECKING:
    from .payloads import PayloadBuilder
    from .world import DiscordWorld

MESSAGE_TXT_TYPE = "text/plain; charset=utf-8"


class ChatActions:
    """Users' messages, edits, deletes, threads and forum posts, each sent as Discord sends it
    (and only when the bot can see the channel); DMs the bot sent, as the user received them."""

    if TYPE_CHECKING:
        world: DiscordWorld
        payloads: PayloadBuilder

        async def dispatch_seen(
            self, channel: Channel, event: str, data: dict[str, Any]
        ) -> int: ...

        async def wait_for_request(
            self,
            method: str | None = None,
            path: str | None = None,
            *,
            predicate: Callable[[RecordedRequest], bool] | None = None,
        ) -> RecordedRequest: ...

        def add_attachment(
            self, filename: str, data: bytes, *, channel: Channel | None = None, **kwargs: Any
        ) -> dict[str, Any]: ...

    async def send_message(
        self,
        channel: Channel,
        author: User,
        content: str = "",
        *,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """`author` posts a message (MESSAGE_CREATE); the message as stored."""
        event = self.payloads.message_create(
            channel, author, content, attachments=attachments, embeds=embeds
        )
        await self.dispatch_seen(channel, "MESSAGE_CREATE", event)
        return self.world.messages.require(int(event["id"]))

    async def send_long_message(
        self, channel: Channel, author: User, text: str, *, content: str = ""
    ) -> dict[str, Any]:
        """`author` pastes `text` too long for a message: Discord's client sends it as a
        `message.txt` attachment (text/plain; charset=utf-8) with `content` (usually none)."""
        attachment = self.add_attachment(
            "message.txt", text.encode(), channel=channel, content_type=MESSAGE_TXT_TYPE
        )
        return await self.send_message(channel, author, content, attachments=[attachment])

    async def edit_message(
        self,
        message: dict[str, Any],
        *,
        content: str | None = None,
        attachments: Iterable[dict[str, Any]] | None = None,
        embeds: Iterable[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The author edits `message` (MESSAGE_UPDATE with the whole message, as Discord now
        sends it); discord.py fires on_message_edit if it had the message cached."""
        stored = self.world.messages.require(int(message["id"]))
        if stored["author"]["id"] == str(self.world.bot_user.id):
            raise ValueError("the bot edits its own messages over REST, not through the stand-in")
        self.world.messages.edit_as_author(
            stored,
            content=content,
            attachments=None if attachments is None else list(attachments),
            embeds=None if embeds is None else list(embeds),
        )
        await self.dispatch_seen(
            self._channel_of(stored), "MESSAGE_UPDATE", self.world.message_event(stored)
        )
        return stored

    async def delete_message(self, message: dict[str, Any]) -> None:
        """The author (or a moderator) deletes `message` (MESSAGE_DELETE)."""
        channel = self._channel_of(message)
        event = self.world.delete_message(self.world.messages.require(int(message["id"])))
        await self.dispatch_seen(channel, "MESSAGE_DELETE", event)

    async def create_thread(
        self,
        channel: Channel,
        owner: User,
        name: str,
        *,
        private: bool = False,
        message: dict[str, Any] | None = None,
        auto_archive_duration: int = 4320,
    ) -> Channel:
        """`owner` starts a thread in text channel `channel` (from `message`, if given).

        THREAD_CREATE goes to the bot if it can see the thread (a private one only once it is
        a member or may manage threads); a public thread without a starter message also leaves
        a THREAD_CREATED (type 18) message in the channel.
        """
        if message is not None:
            if private:
                raise ValueError("a thread started from a message is public")
            thread = threads.thread_from_message(
                self.world, message, owner, name, auto_archive_duration=auto_archive_duration
            )
        else:
            thread = threads.start_thread(
                self.world,
                channel,
                owner,
                name,
                type=PRIVATE_THREAD if private else PUBLIC_THREAD,
                auto_archive_duration=auto_archive_duration,
            )
        created = threads.thread_payload(self.world, thread, newly_created=True)
        await self.dispatch_seen(thread, "THREAD_CREATE", created)
        notice = None if message else threads.announce_thread(self.world, thread, owner)
        if notice is not None:
            await self.dispatch_seen(channel, "MESSAGE_CREATE", self.world.message_event(notice))
        return thread

    async def create_forum_post(
        self,
        forum: Channel,
        author: User,
        title: str,
        content: str = "",
        *,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
        tags: Iterable[str] = (),
    ) -> tuple[Channel, dict[str, Any]]:
        """`author` posts in `forum`: a public thread called `title` and its starter message
        (same id), sent as THREAD_CREATE then MESSAGE_CREATE; tags by name.

        Put attachments on the CDN with `add_attachment(..., channel=forum)` first.
        """
        guild = self.world.guild_of(forum)
        if guild is None:
            raise ValueError("a forum belongs to a guild")
        tag_ids = [guild.tag_id(forum, name) for name in tags]
        threads.check_forum_tags(forum, tag_ids)
        thread = threads.start_thread(
            self.world, forum, author, title, thread_id=self.world.snowflakes.next(), tags=tag_ids
        )
        message = self.world.messages.create(
            channel=thread,
            author=author,
            content=content,
            attachments=list(attachments),
            embeds=list(embeds),
            message_id=thread.id,
        )
        forum.last_message_id = thread.id
        created = threads.thread_payload(self.world, thread, newly_created=True)
        await self.dispatch_seen(thread, "THREAD_CREATE", created)
        await self.dispatch_seen(thread, "MESSAGE_CREATE", self.world.message_event(message))
        return thread, message

    async def add_to_thread(self, thread: Channel, user: User) -> None:
        """`user` joins `thread`. When it is the bot, it gets THREAD_CREATE with its membership
        (how it learns of a private thread it was added to)."""
        if threads.join(thread, user) and user is self.world.bot_user:
            await self.dispatch_seen(
                thread, "THREAD_CREATE", threads.thread_payload(self.world, thread)
            )

    def dms_to(self, user: User) -> list[dict[str, Any]]:
        """The messages the bot has sent `user` in DMs, oldest first."""
        channel = self.world.dm_channel(user)
        bot_id = str(self.world.bot_user.id)
        return [m for m in self.world.messages.in_channel(channel) if m["author"]["id"] == bot_id]

    async def wait_for_dm(
        self, user: User, *, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """The first DM the bot sends (or has sent) `user` that matches `predicate`."""
        path = f"/channels/{self.world.dm_channel(user).id}/messages"
        record = await self.wait_for_request(
            "POST",
            path,
            predicate=lambda r: r.status == 200 and (predicate is None or predicate(r.response)),
        )
        return record.response

    def components_of(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """A message's components as they are now (after the bot's edits)."""
        return self.world.messages.require(int(message["id"]))["components"]

    def _channel_of(self, message: dict[str, Any]) -> Channel:
        channel = self.world.channel(int(message["channel_id"]))
        if channel is None:
            raise LookupError(f"message {message['id']} is in an unknown channel")
        return channel
