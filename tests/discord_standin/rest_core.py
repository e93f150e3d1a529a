"""REST routes for the gateway URL, the bot user and its guilds, the application, and DMs."""

from __future__ import annotations

from aiohttp import web

from .context import BODY, GATEWAY, SETTINGS, WORLD
from .errors import UNKNOWN_GUILD, UNKNOWN_USER, json_response, not_found

# GUILD_CREATE's extra fields, which GET /guilds/{id} does not have
GATEWAY_ONLY_GUILD_FIELDS = (
    "joined_at",
    "large",
    "unavailable",
    "lazy",
    "member_count",
    "members",
    "channels",
    "threads",
    "presences",
    "voice_states",
    "stage_instances",
    "guild_scheduled_events",
    "soundboard_sounds",
    "embedded_activities",
)


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/gateway", get_gateway)
    app.router.add_get(f"{prefix}/gateway/bot", get_gateway_bot)
    app.router.add_get(f"{prefix}/users/@me", get_current_user)
    app.router.add_get(f"{prefix}/users/@me/guilds", get_current_user_guilds)
    app.router.add_delete(f"{prefix}/users/@me/guilds/{{guild_id}}", leave_guild)
    app.router.add_post(f"{prefix}/users/@me/channels", create_dm)
    app.router.add_get(f"{prefix}/users/{{user_id:\\d+}}", get_user)
    app.router.add_get(f"{prefix}/guilds/{{guild_id}}", get_guild)
    app.router.add_get(f"{prefix}/oauth2/applications/@me", get_application)


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


async def get_current_user_guilds(request: web.Request) -> web.Response:
    """GET /users/@me/guilds: partial guilds with the bot's permissions there."""
    world = request.app[WORLD]
    guilds = [
        {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "banner": None,
            "owner": False,
            "permissions": str(guild.permissions_for(world.bot_user)),
            "features": [],
        }
        for guild in sorted(world.guilds.values(), key=lambda g: g.id)
    ]
    return json_response(guilds)


async def leave_guild(request: web.Request) -> web.Response:
    """DELETE /users/@me/guilds/{id}: the bot leaves; Discord then sends GUILD_DELETE."""
    world = request.app[WORLD]
    guild_id = request.match_info["guild_id"]
    guild = world.guilds.get(int(guild_id)) if guild_id.isdigit() else None
    if guild is None:
        raise not_found(UNKNOWN_GUILD, "Guild")
    world.leave(guild)
    await request.app[GATEWAY].dispatch("GUILD_DELETE", {"id": str(guild.id)})
    return web.Response(status=204)


async def get_guild(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    guild_id = request.match_info["guild_id"]
    guild = world.guilds.get(int(guild_id)) if guild_id.isdigit() else None
    if guild is None:
        raise not_found(UNKNOWN_GUILD, "Guild")
    payload = guild.to_payload()
    for gateway_only in GATEWAY_ONLY_GUILD_FIELDS:
        payload.pop(gateway_only, None)
    return json_response(payload)


async def get_user(request: web.Request) -> web.Response:
    user = request.app[WORLD].users.get(int(request.match_info["user_id"]))
    if user is None:
        raise not_found(UNKNOWN_USER, "User")
    return json_response(user.to_payload())


async def get_application(request: web.Request) -> web.Response:
    return json_response(request.app[WORLD].application_payload())


async def create_dm(request: web.Request) -> web.Response:
    """POST /users/@me/channels: the DM channel with a user (the same one each time)."""
    world = request.app[WORLD]
    recipient = world.users.get(int(request[BODY].object().get("recipient_id", 0)))
    if recipient is None:
        raise not_found(UNKNOWN_USER, "User")
    return json_response(world.dm_channel(recipient).to_payload())
