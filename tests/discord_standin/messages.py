"""Messages: those the bot creates over REST (validated as Discord does) and those users post."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from .cdn import AttachmentStore
from .errors import (
    CANNOT_SEND_EMPTY_MESSAGE,
    REQUEST_ENTITY_TOO_LARGE,
    UNKNOWN_MESSAGE,
    DiscordHTTPError,
    invalid_form,
    not_found,
)
from .models import Channel, User, iso_now
from .records import RecordedFile
from .snowflakes import SnowflakeFactory

EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15
SENDABLE_FLAGS = (1 << 2) | (1 << 12) | (1 << 13) | IS_COMPONENTS_V2
MAX_CONTENT = 2000
MAX_EMBEDS = 10
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


class MessageStore:
    """Every message the stand-in knows, by id, as Discord's REST message objects."""

    def __init__(
        self,
        snowflakes: SnowflakeFactory,
        attachments: AttachmentStore,
        find_user: Callable[[int], User | None],
    ) -> None:
        self._snowflakes = snowflakes
        self._attachments = attachments
        self._find_user = find_user
        self._messages: dict[int, dict[str, Any]] = {}

    def get(self, message_id: int) -> dict[str, Any] | None:
        return self._messages.get(message_id)

    def require(self, message_id: int, channel_id: int | None = None) -> dict[str, Any]:
        message = self._messages.get(message_id)
        if message is None or (channel_id is not None and message["channel_id"] != str(channel_id)):
            raise not_found(UNKNOWN_MESSAGE, "Message")
        return message

    def delete(self, message_id: int, channel_id: int | None = None) -> dict[str, Any]:
        message = self.require(message_id, channel_id)
        del self._messages[message_id]
        return message

    def forget_channel(self, channel: Channel) -> None:
        """Drop every message in `channel` (a deleted thread takes its messages with it)."""
        for message in self.in_channel(channel):
            del self._messages[int(message["id"])]

    def in_channel(self, channel: Channel) -> list[dict[str, Any]]:
        return [m for m in self._messages.values() if m["channel_id"] == str(channel.id)]

    def create(
        self,
        *,
        channel: Channel,
        author: User,
        content: str = "",
        attachments: Sequence[dict[str, Any]] = (),
        embeds: Sequence[dict[str, Any]] = (),
        components: Sequence[dict[str, Any]] = (),
        flags: int = 0,
        message_type: int = 0,
        extra: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a message as given (no validation): users' messages and system messages.

        `message_id` is for a forum post's starter message, which shares the thread's id.
        """
        message_id = message_id or self._snowflakes.next()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": author.to_payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content,
            "mentions": self._mentioned_users(content),
            "mention_roles": ROLE_MENTION.findall(content),
            "attachments": list(attachments),
            "embeds": list(embeds),
            "components": list(components),
            "pinned": False,
            "type": message_type,
            "flags": flags,
        }
        message.update(extra or {})
        if channel.thread is not None:
            message["position"] = _count_in_thread(channel, starter=message_id == channel.id)
        self._messages[message_id] = message
        channel.last_message_id = message_id
        return message

    def create_from_body(
        self,
        *,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        files: Sequence[RecordedFile],
        allowed_flags: int = SENDABLE_FLAGS,
        message_type: int = 0,
        extra: dict[str, Any] | None = None,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """A message the bot sent (channel message, interaction reply, follow-up), validated."""
        flags = int(body.get("flags") or 0) & allowed_flags
        attachments = self._uploads_for(channel.id, body, files, upload_limit)
        _validate(body, attachments, flags)
        message = self.create(
            channel=channel,
            author=author,
            content=body.get("content") or "",
            attachments=attachments,
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=flags,
            message_type=message_type,
            extra=extra,
            message_id=message_id,
        )
        for key in ("nonce", "tts", "message_reference", "poll"):
            if body.get(key) is not None:
                message[key] = body[key]
        return message

    def edit_from_body(
        self,
        message: dict[str, Any],
        body: dict[str, Any],
        files: Sequence[RecordedFile],
        *,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    ) -> dict[str, Any]:
        """Apply a PATCH: present fields replace, `attachments` lists the ones to keep."""
        channel_id = int(message["channel_id"])
        uploads = self._uploads_for(channel_id, body, files, upload_limit)
        if "attachments" in body:
            keep = {str(a["id"]) for a in body["attachments"] or []}
            kept = [a for a in message["attachments"] if a["id"] in keep]
            message["attachments"] = kept + uploads
        else:
            message["attachments"] = message["attachments"] + uploads
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] or ("" if key == "content" else [])
        was_loading = bool(message["flags"] & LOADING)
        flags = message["flags"] & ~LOADING
        if body.get("flags") is not None:
            flags = (flags & ~SENDABLE_FLAGS) | (int(body["flags"]) & SENDABLE_FLAGS)
        message["flags"] = flags
        _validate(message, message["attachments"], flags)
        message["mentions"] = self._mentioned_users(message["content"])
        if not was_loading:
            message["edited_timestamp"] = iso_now()
        return message

    def edit_as_author(
        self,
        message: dict[str, Any],
        *,
        content: str | None = None,
        attachments: Sequence[dict[str, Any]] | None = None,
        embeds: Sequence[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user edits their message: the given fields change, edited_timestamp is set."""
        if content is not None:
            message["content"] = content
            message["mentions"] = self._mentioned_users(content)
            message["mention_roles"] = ROLE_MENTION.findall(content)
            message["mention_everyone"] = "@everyone" in content
        if attachments is not None:
            message["attachments"] = list(attachments)
        if embeds is not None:
            message["embeds"] = list(embeds)
        message["edited_timestamp"] = iso_now()
        return message

    def _uploads_for(
        self, channel_id: int, body: dict[str, Any], files: Sequence[RecordedFile], limit: int
    ) -> list[dict[str, Any]]:
        """Store uploaded files on the CDN; their attachment payloads, in the body's order."""
        if sum(len(f.data) for f in files) > limit:
            raise DiscordHTTPError(413, REQUEST_ENTITY_TOO_LARGE, "Request entity too large")
        described = {str(a["id"]): a for a in body.get("attachments") or []}
        uploads = []
        for file in files:
            meta = described.get(file.field.removeprefix("files[").removesuffix("]"), {})
            uploads.append(
                self._attachments.add(
                    channel_id=channel_id,
                    attachment_id=self._snowflakes.next(),
                    filename=meta.get("filename") or file.filename,
                    data=file.data,
                    content_type=None,
                    description=meta.get("description"),
                )
            )
        return uploads

    def _mentioned_users(self, content: str) -> list[dict[str, Any]]:
        users = (self._find_user(int(i)) for i in dict.fromkeys(USER_MENTION.findall(content)))
        return [u.to_payload() for u in users if u is not None]


def _count_in_thread(thread: Channel, *, starter: bool) -> int:
    """Count a new message in a thread; its `position` there (the starter message is 0).

    Discord's message_count leaves out the starter message; total_message_sent never drops.
    """
    assert thread.thread is not None
    if starter:
        return 0
    thread.thread.message_count += 1
    thread.thread.total_message_sent += 1
    return thread.thread.total_message_sent


def _validate(body: dict[str, Any], attachments: Sequence[dict[str, Any]], flags: int) -> None:
    """The checks Discord makes on a message body, with its error codes."""
    content = body.get("content") or ""
    if len(content) > MAX_CONTENT:
        raise invalid_form(
            "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
        )
    if len(body.get("embeds") or []) > MAX_EMBEDS:
        raise invalid_form(
            "embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
        )
    if flags & IS_COMPONENTS_V2 and (content or body.get("embeds")):
        raise invalid_form(
            "content",
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using "
            "MessageFlags.IS_COMPONENTS_V2",
        )
    parts = (content.strip(), body.get("embeds"), attachments, body.get("components"))
    if not any(parts) and not body.get("sticker_ids") and not body.get("poll"):
        raise DiscordHTTPError(400, CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")
