"""REST routes the bot uses for threads: starting them (forum posts too), joining, listing."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import threads
from .access import require
from .context import BODY, GATEWAY, WORLD, path_channel
from .errors import UNKNOWN_GUILD, DiscordHTTPError, json_response, not_found
from .models import FORUM_CHANNEL, PRIVATE_THREAD, Channel
from .permissions import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
)


def add_routes(app: web.Application, prefix: str) -> None:
    channel = f"{prefix}/channels/{{channel_id}}"
    app.router.add_post(f"{channel}/threads", start_thread)
    app.router.add_post(f"{channel}/messages/{{message_id}}/threads", start_thread_from_message)
    app.router.add_put(f"{channel}/thread-members/@me", join_thread)
    app.router.add_delete(f"{channel}/thread-members/@me", leave_thread)
    app.router.add_get(f"{prefix}/guilds/{{guild_id}}/threads/active", active_threads)


async def start_thread(request: web.Request) -> web.Response:
    """POST /channels/{id}/threads: a forum post (with its message) or a thread without one."""
    world = request.app[WORLD]
    parent = path_channel(request)
    body = request[BODY].object()
    if parent.type == FORUM_CHANNEL:
        return await _forum_post(request, parent, body)
    thread_type = int(body.get("type") or PRIVATE_THREAD)  # Discord's default is private
    needed = CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD else CREATE_PUBLIC_THREADS
    require(world, parent, needed)
    thread = threads.start_thread(
        world,
        parent,
        world.bot_user,
        str(body.get("name") or ""),
        type=thread_type,
        auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
        invitable=bool(body.get("invitable", True)),
    )
    await _announce(request, thread, newly_created=True)
    notice = threads.announce_thread(world, thread, world.bot_user)
    if notice is not None:
        await request.app[GATEWAY].dispatch("MESSAGE_CREATE", world.message_event(notice))
    return json_response(thread.to_payload(member_id=world.bot_user.id))


async def _forum_post(request: web.Request, forum: Channel, body: dict[str, Any]) -> web.Response:
    """A forum post: a public thread whose starter message shares its id (THREAD_CREATE, then
    MESSAGE_CREATE); the answer is the thread with `message`."""
    world = request.app[WORLD]
    require(world, forum, SEND_MESSAGES)
    tags = [int(t) for t in body.get("applied_tags") or []]
    threads.check_forum_tags(forum, tags)
    thread = threads.start_thread(
        world,
        forum,
        world.bot_user,
        str(body.get("name") or ""),
        thread_id=world.snowflakes.next(),
        auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
        tags=tags,
    )
    try:
        message = world.messages.create_from_body(
            channel=thread,
            author=world.bot_user,
            body=body.get("message") or {},
            files=request[BODY].files,
            message_id=thread.id,
        )
    except DiscordHTTPError:
        threads.discard(world, thread)  # Discord refuses the post as a whole
        raise
    forum.last_message_id = thread.id
    await _announce(request, thread, newly_created=True)
    await request.app[GATEWAY].dispatch("MESSAGE_CREATE", world.message_event(message))
    return json_response(thread.to_payload(member_id=world.bot_user.id) | {"message": message})


async def start_thread_from_message(request: web.Request) -> web.Response:
    """POST /channels/{id}/messages/{message_id}/threads: a public thread with the message's id."""
    world = request.app[WORLD]
    parent = path_channel(request)
    require(world, parent, CREATE_PUBLIC_THREADS | READ_MESSAGE_HISTORY)
    message_id = request.match_info["message_id"]
    message = world.messages.require(int(message_id) if message_id.isdigit() else 0, parent.id)
    body = request[BODY].object()
    thread = threads.thread_from_message(
        world,
        message,
        world.bot_user,
        str(body.get("name") or ""),
        auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
    )
    await _announce(request, thread, newly_created=True)
    return json_response(thread.to_payload(member_id=world.bot_user.id))


async def join_thread(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    thread = _thread(request)
    require(world, thread)
    if thread.thread is not None and thread.thread.archived:
        raise DiscordHTTPError(
            400, threads.ARCHIVED_THREAD, "Operation cannot be performed on an archived thread"
        )
    if threads.join(thread, world.bot_user):
        await request.app[GATEWAY].dispatch(
            "THREAD_MEMBER_UPDATE",
            thread.thread_member(world.bot_user.id) | {"guild_id": str(thread.guild_id)},
        )
    return web.Response(status=204)


async def leave_thread(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    thread = _thread(request)
    require(world, thread)
    assert thread.thread is not None
    thread.thread.members.pop(world.bot_user.id, None)
    return web.Response(status=204)


async def active_threads(request: web.Request) -> web.Response:
    """GET /guilds/{id}/threads/active: the guild's unarchived threads the bot can see."""
    world = request.app[WORLD]
    guild_id = request.match_info["guild_id"]
    guild = world.guilds.get(int(guild_id)) if guild_id.isdigit() else None
    if guild is None:
        raise not_found(UNKNOWN_GUILD, "Guild")
    payload = threads.thread_list_sync_payload(world, guild)
    return json_response({"threads": payload["threads"], "members": payload["members"]})


async def _announce(request: web.Request, thread: Channel, *, newly_created: bool) -> None:
    world = request.app[WORLD]
    payload = threads.thread_payload(world, thread, newly_created=newly_created)
    await request.app[GATEWAY].dispatch("THREAD_CREATE", payload)


def _thread(request: web.Request) -> Channel:
    channel = path_channel(request)
    if channel.thread is None:
        raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
    return channel
