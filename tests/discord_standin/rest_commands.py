"""REST routes for application commands, global and per guild: what the bot syncs."""

from __future__ import annotations

from aiohttp import web

from .commands import Scope
from .context import BODY, WORLD
from .errors import UNKNOWN_APPLICATION_COMMAND, DiscordHTTPError, json_response, not_found


def add_routes(app: web.Application, prefix: str) -> None:
    for path in (
        f"{prefix}/applications/{{application_id}}/commands",
        f"{prefix}/applications/{{application_id}}/guilds/{{guild_id}}/commands",
    ):
        app.router.add_get(path, list_commands)
        app.router.add_put(path, replace_commands)
        app.router.add_post(path, upsert_command)
        app.router.add_get(path + "/{command_id}", get_command)
        app.router.add_delete(path + "/{command_id}", delete_command)


async def list_commands(request: web.Request) -> web.Response:
    return json_response(request.app[WORLD].commands.list(_scope(request)))


async def replace_commands(request: web.Request) -> web.Response:
    payloads = request[BODY].json
    if not isinstance(payloads, list):
        raise DiscordHTTPError(400, 50035, "Invalid Form Body")
    return json_response(request.app[WORLD].commands.replace(_scope(request), payloads))


async def upsert_command(request: web.Request) -> web.Response:
    command = request.app[WORLD].commands.upsert(_scope(request), request[BODY].object())
    return json_response(command, status=201)


async def get_command(request: web.Request) -> web.Response:
    for command in request.app[WORLD].commands.list(_scope(request)):
        if command["id"] == request.match_info["command_id"]:
            return json_response(command)
    raise not_found(UNKNOWN_APPLICATION_COMMAND, "application command")


async def delete_command(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    scope = _scope(request)
    remaining = [
        c for c in world.commands.list(scope) if c["id"] != request.match_info["command_id"]
    ]
    if len(remaining) == len(world.commands.list(scope)):
        raise not_found(UNKNOWN_APPLICATION_COMMAND, "application command")
    world.commands.replace(scope, remaining)
    return web.Response(status=204)


def _scope(request: web.Request) -> Scope:
    world = request.app[WORLD]
    if request.match_info["application_id"] != str(world.application_id):
        raise DiscordHTTPError(403, 50001, "Missing Access")
    guild_id = request.match_info.get("guild_id")
    if guild_id is None:
        return None
    if not guild_id.isdigit() or int(guild_id) not in world.guilds:
        raise DiscordHTTPError(403, 50001, "Missing Access")
    return int(guild_id)
