"""The stand-in's aiohttp application: REST under /api/v10, the gateway socket, the CDN."""

from __future__ import annotations

from aiohttp import web

from . import rest_commands, rest_core, rest_interactions, rest_messages, rest_threads
from .cdn import serve_attachment
from .context import GATEWAY, SETTINGS, WORLD, ServerSettings
from .gateway import GatewayServer
from .middleware import API_PREFIX, recording_middleware
from .ratelimits import RateLimitInjector
from .records import RecordedRequest, Recorder
from .world import DiscordWorld

GATEWAY_PATH = "/gateway"
CDN_PATH = r"/{kind:(?:proxy/)?(?:ephemeral-)?attachments}/{channel_id:\d+}/{id:\d+}/{filename}"
MAX_UPLOAD = 64 * 1024 * 1024


def create_app(
    *,
    world: DiscordWorld,
    gateway: GatewayServer,
    settings: ServerSettings,
    recorder: Recorder[RecordedRequest],
    rate_limits: RateLimitInjector,
) -> web.Application:
    """Every route, behind the middleware that authenticates, rate limits and records."""
    middleware = recording_middleware(
        token=world.token,
        recorder=recorder,
        rate_limits=rate_limits,
        skip_paths=frozenset({GATEWAY_PATH}),
    )
    app = web.Application(middlewares=[middleware], client_max_size=MAX_UPLOAD)
    app[WORLD] = world
    app[SETTINGS] = settings
    app[GATEWAY] = gateway
    rest_core.add_routes(app, API_PREFIX)
    rest_messages.add_routes(app, API_PREFIX)
    rest_threads.add_routes(app, API_PREFIX)
    rest_commands.add_routes(app, API_PREFIX)
    rest_interactions.add_routes(app, API_PREFIX)
    app.router.add_get(GATEWAY_PATH, gateway.handle)

    async def attachment(request: web.Request) -> web.StreamResponse:
        return await serve_attachment(request, world.attachments)

    app.router.add_get(CDN_PATH, attachment)
    return app
