"""REST routes for a channel and its messages, with the permission checks Discord makes."""

from __future__ import annotations

from aiohttp import web

from . import threads
from .access import has, require, send_permission
from .context import BODY, GATEWAY, WORLD, ParsedBody, path_channel
from .errors import DiscordHTTPError, invalid_form, json_response
from .models import DM_CHANNEL, FORUM_CHANNEL, TEXT_CHANNEL, VOICE_CHANNEL, Channel, iso_now
from .permissions import (
    ADD_REACTIONS,
    ATTACH_FILES,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
)
from .world import DiscordWorld

CANNOT_EDIT_OTHERS_MESSAGE = 50005
CANNOT_MESSAGE_USER = 50007
CANNOT_SEND_IN_NON_TEXT = 50008
REPLY_WITHOUT_HISTORY = 160002
MESSAGE_CHANNEL_TYPES = frozenset({TEXT_CHANNEL, DM_CHANNEL, VOICE_CHANNEL})


def add_routes(app: web.Application, prefix: str) -> None:
    channel = f"{prefix}/channels/{{channel_id}}"
    message = f"{channel}/messages/{{message_id}}"
    app.router.add_get(channel, get_channel)
    app.router.add_post(f"{channel}/typing", trigger_typing)
    app.router.add_get(f"{channel}/messages", get_messages)
    app.router.add_post(f"{channel}/messages", create_message)
    app.router.add_get(message, get_message)
    app.router.add_patch(message, edit_message)
    app.router.add_delete(message, delete_message)
    app.router.add_put(f"{message}/reactions/{{emoji}}/@me", add_reaction)


async def get_channel(request: web.Request) -> web.Response:
    """GET /channels/{id}; a thread comes with the bot's thread membership, if any."""
    world = request.app[WORLD]
    channel = path_channel(request)
    require(world, channel)
    return json_response(channel.to_payload(member_id=world.bot_user.id))


async def trigger_typing(request: web.Request) -> web.Response:
    channel = path_channel(request)
    require(request.app[WORLD], channel, send_permission(channel))
    return web.Response(status=204)


async def get_messages(request: web.Request) -> web.Response:
    """GET /channels/{id}/messages: newest first; none without Read Message History."""
    world = request.app[WORLD]
    channel = path_channel(request)
    require(world, channel)
    if not has(world, channel, READ_MESSAGE_HISTORY):
        return json_response([])  # Discord answers an empty list, not an error
    limit = _int_query(request, "limit")
    limit = 50 if limit is None else limit
    if not 1 <= limit <= 100:
        raise invalid_form("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
    newest_first = sorted(world.messages.in_channel(channel), key=lambda m: -int(m["id"]))
    before, after = _int_query(request, "before"), _int_query(request, "after")
    around = _int_query(request, "around")
    if around is not None:
        older = [m for m in newest_first if int(m["id"]) < around][: limit // 2]
        newer = [m for m in newest_first if int(m["id"]) >= around]
        return json_response(newer[max(0, len(newer) - (limit - len(older))) :] + older)
    if before is not None:
        newest_first = [m for m in newest_first if int(m["id"]) < before]
    if after is not None:  # the `limit` messages right after it, still newest first
        newest_first = [m for m in newest_first if int(m["id"]) > after][-limit:]
    return json_response(newest_first[:limit])


async def create_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = path_channel(request)
    body = request[BODY]
    _check_can_send(world, channel, body)
    if channel.thread is not None:
        await _ready_thread_for_bot(request, channel)
    message = world.messages.create_from_body(
        channel=channel, author=world.bot_user, body=body.object(), files=body.files
    )
    await request.app[GATEWAY].dispatch("MESSAGE_CREATE", world.message_event(message))
    return json_response(message)


async def get_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = path_channel(request)
    require(world, channel, READ_MESSAGE_HISTORY)
    message = world.messages.require(int(request.match_info["message_id"]), channel.id)
    return json_response(message)


async def edit_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = path_channel(request)
    require(world, channel)
    message = world.messages.require(_message_id(request), channel.id)
    if message["author"]["id"] != str(world.bot_user.id):
        raise DiscordHTTPError(
            403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
        )
    body = request[BODY]
    world.messages.edit_from_body(message, body.object(), body.files)
    await request.app[GATEWAY].dispatch("MESSAGE_UPDATE", world.message_event(message))
    return json_response(message)


async def delete_message(request: web.Request) -> web.Response:
    """DELETE a message: the bot's own anywhere it can see, others' with Manage Messages."""
    world = request.app[WORLD]
    channel = path_channel(request)
    message = world.messages.require(_message_id(request), channel.id)
    own = message["author"]["id"] == str(world.bot_user.id)
    require(world, channel, 0 if own else MANAGE_MESSAGES)
    await request.app[GATEWAY].dispatch("MESSAGE_DELETE", world.delete_message(message))
    return web.Response(status=204)


async def add_reaction(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = path_channel(request)
    require(world, channel, READ_MESSAGE_HISTORY | ADD_REACTIONS)
    world.messages.require(_message_id(request), channel.id)
    return web.Response(status=204)


def _check_can_send(world: DiscordWorld, channel: Channel, body: ParsedBody) -> None:
    """Discord's refusals of a new message, in its order: access, channel type, permissions."""
    if channel.recipient is not None and not channel.recipient.dms_open:
        raise DiscordHTTPError(403, CANNOT_MESSAGE_USER, "Cannot send messages to this user")
    require(world, channel)
    if channel.type == FORUM_CHANNEL:
        raise DiscordHTTPError(
            400, threads.CANNOT_SEND_IN_FORUM, "Cannot send messages in a forum channel"
        )
    if channel.thread is None and channel.type not in MESSAGE_CHANNEL_TYPES:
        raise DiscordHTTPError(
            400, CANNOT_SEND_IN_NON_TEXT, "Cannot send messages in a non-text channel"
        )
    require(world, channel, send_permission(channel))
    if body.files:
        require(world, channel, ATTACH_FILES)
    if body.object().get("message_reference") and not has(world, channel, READ_MESSAGE_HISTORY):
        raise DiscordHTTPError(
            403, REPLY_WITHOUT_HISTORY, "Cannot reply without permission to read message history"
        )


async def _ready_thread_for_bot(request: web.Request, thread: Channel) -> None:
    """A message in a thread: a locked one refuses, an archived one is unarchived (THREAD_UPDATE)
    and the bot becomes a member, as on Discord."""
    world = request.app[WORLD]
    state = thread.thread
    assert state is not None
    if state.locked and not has(world, thread, MANAGE_THREADS):
        raise DiscordHTTPError(
            400, threads.ARCHIVED_THREAD, "Operation cannot be performed on an archived thread"
        )
    threads.join(thread, world.bot_user)
    if state.archived:
        state.archived = False
        state.archive_timestamp = iso_now()
        await request.app[GATEWAY].dispatch("THREAD_UPDATE", threads.thread_payload(world, thread))


def _message_id(request: web.Request) -> int:
    value = request.match_info["message_id"]
    return int(value) if value.isdigit() else 0


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid_form(name, "NUMBER_TYPE_COERCE", f"Value {value!r} is not int.")
    return int(value)
