"""REST routes for the gateway URL, users, the application, channels, messages and DMs."""

from __future__ import annotations

from aiohttp import web

from .context import BODY, GATEWAY, SETTINGS, WORLD
from .errors import (
    UNKNOWN_CHANNEL,
    UNKNOWN_USER,
    DiscordHTTPError,
    json_response,
    not_found,
)
from .models import Channel
from .permissions import MANAGE_MESSAGES

CANNOT_MESSAGE_USER = 50007
MISSING_PERMISSIONS = 50013
CANNOT_EDIT_OTHERS_MESSAGE = 50005


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/gateway", get_gateway)
    app.router.add_get(f"{prefix}/gateway/bot", get_gateway_bot)
    app.router.add_get(f"{prefix}/users/@me", get_current_user)
    app.router.add_post(f"{prefix}/users/@me/channels", create_dm)
    app.router.add_get(f"{prefix}/users/{{user_id:\\d+}}", get_user)
    app.router.add_get(f"{prefix}/oauth2/applications/@me", get_application)
    app.router.add_get(f"{prefix}/channels/{{channel_id}}", get_channel)
    app.router.add_post(f"{prefix}/channels/{{channel_id}}/typing", trigger_typing)
    app.router.add_post(f"{prefix}/channels/{{channel_id}}/messages", create_message)
    app.router.add_get(f"{prefix}/channels/{{channel_id}}/messages/{{message_id}}", get_message)
    app.router.add_patch(f"{prefix}/channels/{{channel_id}}/messages/{{message_id}}", edit_message)
    app.router.add_delete(
        f"{prefix}/channels/{{channel_id}}/messages/{{message_id}}", delete_message
    )
    app.router.add_put(
        f"{prefix}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me",
        add_reaction,
    )


async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": request.app[SETTINGS].gateway_url})


async def get_gateway_bot(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
    body = {
        "url": settings.gateway_url,
        "shards": settings.shard_count,
        "session_start_limit": limit,
    }
    return json_response(body)


async def get_current_user(request: web.Request) -> web.Response:
    user = request.app[WORLD].bot_user.to_payload()
    user.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
    return json_response(user)


async def get_user(request: web.Request) -> web.Response:
    user = request.app[WORLD].users.get(int(request.match_info["user_id"]))
    if user is None:
        raise not_found(UNKNOWN_USER, "User")
    return json_response(user.to_payload())


async def get_application(request: web.Request) -> web.Response:
    return json_response(request.app[WORLD].application_payload())


async def create_dm(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    recipient = world.users.get(int(request[BODY].object().get("recipient_id", 0)))
    if recipient is None:
        raise not_found(UNKNOWN_USER, "User")
    return json_response(world.dm_channel(recipient).to_payload())


async def get_channel(request: web.Request) -> web.Response:
    return json_response(_channel(request).to_payload())


async def trigger_typing(request: web.Request) -> web.Response:
    _channel(request)
    return web.Response(status=204)


async def create_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = _channel(request)
    if channel.recipient is not None and not channel.recipient.dms_open:
        raise DiscordHTTPError(403, CANNOT_MESSAGE_USER, "Cannot send messages to this user")
    if not world.can_post(channel):
        raise DiscordHTTPError(403, MISSING_PERMISSIONS, "Missing Permissions")
    body = request[BODY]
    message = world.messages.create_from_body(
        channel=channel, author=world.bot_user, body=body.object(), files=body.files
    )
    await request.app[GATEWAY].dispatch("MESSAGE_CREATE", world.message_event(message))
    return json_response(message)


async def get_message(request: web.Request) -> web.Response:
    channel = _channel(request)
    message = request.app[WORLD].messages.require(int(request.match_info["message_id"]), channel.id)
    return json_response(message)


async def edit_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = _channel(request)
    message = world.messages.require(int(request.match_info["message_id"]), channel.id)
    if message["author"]["id"] != str(world.bot_user.id):
        raise DiscordHTTPError(
            403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
        )
    body = request[BODY]
    world.messages.edit_from_body(message, body.object(), body.files)
    await request.app[GATEWAY].dispatch("MESSAGE_UPDATE", world.message_event(message))
    return json_response(message)


async def delete_message(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    channel = _channel(request)
    message = world.messages.require(int(request.match_info["message_id"]), channel.id)
    guild = world.guild_of(channel)
    own = message["author"]["id"] == str(world.bot_user.id)
    if not own and guild is not None:
        if not guild.permissions_for(world.bot_user, channel) & MANAGE_MESSAGES:
            raise DiscordHTTPError(403, MISSING_PERMISSIONS, "Missing Permissions")
    world.messages.delete(int(message["id"]))
    event = {"id": message["id"], "channel_id": message["channel_id"]}
    if guild is not None:
        event["guild_id"] = str(guild.id)
    await request.app[GATEWAY].dispatch("MESSAGE_DELETE", event)
    return web.Response(status=204)


async def add_reaction(request: web.Request) -> web.Response:
    channel = _channel(request)
    request.app[WORLD].messages.require(int(request.match_info["message_id"]), channel.id)
    return web.Response(status=204)


def _channel(request: web.Request) -> Channel:
    try:
        channel_id = int(request.match_info["channel_id"])
    except ValueError:
        raise not_found(UNKNOWN_CHANNEL, "Channel") from None
    channel = request.app[WORLD].channel(channel_id)
    if channel is None:
        raise not_found(UNKNOWN_CHANNEL, "Channel")
    return channel
