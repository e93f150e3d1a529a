"""DiscordStandin: a loopback Discord (REST, gateway, CDN) that the real discord.py talks to."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from .admin import GuildAdmin
from .app import GATEWAY_PATH, create_app
from .chat import ChatActions
from .client_runner import ClientT, run_client
from .context import ServerSettings
from .gateway import GatewayServer, GatewaySession
from .guild import Guild
from .intents import PRIVILEGED
from .middleware import API_PREFIX
from .models import Channel, User
from .patching import discord_pointed_at
from .payloads import PayloadBuilder
from .permissions import BOT_DEFAULT, EVERYONE_DEFAULT
from .ratelimits import InjectedRateLimit, RateLimitInjector
from .records import (
    GatewayFrame,
    InteractionCallback,
    PathPattern,
    RecordedRequest,
    Recorder,
    describe_request_query,
    request_matcher,
)
from .world import DiscordWorld, InteractionState


class DiscordStandin(ChatActions, GuildAdmin):
    """A stand-in for Discord's API, gateway and CDN on 127.0.0.1, for driving real discord.py.

    ```
    async with DiscordStandin() as discord_api:
        alice = discord_api.create_user("alice")
        guild = discord_api.create_guild("Test Guild", members=[alice])
        async with discord_api.running(bot):
            await bot.tree.sync(guild=discord.Object(guild.id))
            ping = await discord_api.slash_command("ping", user=alice, channel=guild.channels[0])
            callback = await discord_api.wait_for_callback(ping)
    ```
    While open, discord.py's hard-coded Discord URLs point here (see `patching`). What users
    do in chat is in `ChatActions`, what admins and Discord do in `GuildAdmin`.
    """

    def __init__(
        self,
        *,
        token: str = "standin-token",
        bot_name: str = "refbin",
        privileged_intents: int = PRIVILEGED,
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float = 3.0,
        shard_count: int = 1,
        frame_size: int | None = None,
        cdn_chunk_size: int = 64 * 1024,
        timeout: float = 5.0,
    ) -> None:
        self.token = token
        self.timeout = timeout
        self.world = DiscordWorld(
            token=token,
            bot_name=bot_name,
            privileged_intents=privileged_intents,
            cdn_chunk_size=cdn_chunk_size,
        )
        self.payloads = PayloadBuilder(self.world)  # build events without sending them
        self._recorder: Recorder[RecordedRequest] = Recorder(
            RecordedRequest.describe, timeout=timeout
        )
        self._rate_limits = RateLimitInjector()
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._interaction_deadline = interaction_deadline
        self._shard_count = shard_count
        self._frame_size = frame_size
        self._runner: web.AppRunner | None = None
        self._patch = contextlib.ExitStack()
        self.url = ""
        self._gateway: GatewayServer | None = None

    # lifecycle

    async def __aenter__(self) -> DiscordStandin:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on a free loopback port and point discord.py here."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.world.attachments.base_url = self.url
        settings = ServerSettings(
            gateway_url=self.gateway_url,
            interaction_deadline=self._interaction_deadline,
            shard_count=self._shard_count,
        )
        self._gateway = GatewayServer(
            self.world,
            gateway_url=self.gateway_url,
            heartbeat_interval_ms=self._heartbeat_interval_ms,
            frame_size=self._frame_size,
            timeout=self.timeout,
        )
        app = create_app(
            world=self.world,
            gateway=self._gateway,
            settings=settings,
            recorder=self._recorder,
            rate_limits=self._rate_limits,
        )
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._patch.enter_context(
            discord_pointed_at(
                api_base=self.api_url, gateway_url=self.gateway_url, cdn_base=self.url
            )
        )

    async def close(self) -> None:
        self._patch.close()
        if self._gateway is not None:
            await self._gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # where it listens, who it is

    @property
    def api_url(self) -> str:
        return f"{self.url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"{self.url.replace('http://', 'ws://')}{GATEWAY_PATH}"

    @property
    def gateway(self) -> GatewayServer:
        if self._gateway is None:
            raise RuntimeError("the stand-in is not started")
        return self._gateway

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def bot_user(self) -> User:
        return self.world.bot_user

    # building the world

    def create_user(self, username: str, *, bot: bool = False) -> User:
        return self.world.create_user(username, bot=bot)

    def create_guild(
        self,
        name: str,
        *,
        channels: tuple[str, ...] = ("general",),
        owner: User | None = None,
        members: Iterable[User] = (),
        everyone_permissions: int = EVERYONE_DEFAULT,
        bot_permissions: int = BOT_DEFAULT,
        joined: bool = True,
    ) -> Guild:
        """A guild the bot is in (sent as GUILD_CREATE when the bot connects); with
        `joined=False` one it is not in yet (see `add_bot_to`)."""
        guild = self.world.create_guild(
            name,
            channels=channels,
            owner=owner,
            everyone_permissions=everyone_permissions,
            bot_permissions=bot_permissions,
            joined=joined,
        )
        for user in members:
            guild.add_member(user)
        return guild

    def dm_channel(self, user: User) -> Channel:
        return self.world.dm_channel(user)

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        *,
        channel: Channel | None = None,
        content_type: str | None = None,
        description: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> dict[str, Any]:
        """Put bytes on the CDN; the attachment payload for a message (in `channel`) or, without
        a channel, for a slash command's attachment option.

        `content_type` is guessed from the name when not given (text gets `; charset=utf-8`);
        `cdn.NO_CONTENT_TYPE` leaves it out, as Discord sometimes does."""
        return self.world.attachments.add(
            channel_id=channel.id if channel else self.application_id,
            attachment_id=self.world.snowflakes.next(),
            filename=filename,
            data=data,
            content_type=content_type,
            description=description,
            width=width,
            height=height,
            ephemeral=channel is None,
        )

    def register_commands(
        self, payloads: Iterable[dict[str, Any]], *, guild: Guild | None = None
    ) -> list[dict[str, Any]]:
        """Commands Discord already has (as if synced earlier), without the bot syncing now."""
        return self.world.commands.replace(guild.id if guild else None, payloads)

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """The commands the bot has synced, globally or to `guild`."""
        return self.world.commands.list(guild.id if guild else None)

    def message(self, message_id: int | str) -> dict[str, Any]:
        """A message as the stand-in holds it now (after any edits); KeyError if there is none."""
        message = self.world.messages.get(int(message_id))
        if message is None:
            raise KeyError(f"no message {message_id}")
        return message

    def messages_in(self, channel: Channel) -> list[dict[str, Any]]:
        """Every message in `channel` the stand-in holds, oldest first."""
        return self.world.messages.in_channel(channel)

    def rate_limit(
        self,
        method: str,
        path: PathPattern,
        *,
        times: int = 1,
        retry_after: float = 0.2,
        is_global: bool = False,
    ) -> InjectedRateLimit:
        """Answer the next `times` calls to `path` (a template like "/channels/{id}/messages")
        with 429 and `retry_after`, as Discord does."""
        return self._rate_limits.add(
            method, path, times=times, retry_after=retry_after, is_global=is_global
        )

    # running a client

    def running(
        self, client: ClientT, *, wait_ready: bool = False
    ) -> contextlib.AbstractAsyncContextManager[ClientT]:
        """Run `client.start()` against the stand-in (`async with`); close it on the way out.

        Entered once the client has identified and handled READY and every GUILD_CREATE (so
        `get_guild` works). `wait_ready` also waits for on_ready, which discord.py delays by the
        client's `guild_ready_timeout` (2 s unless the client was built with a smaller one).
        An AutoShardedClient is entered once its first shard is in (discord.py itself waits 5 s
        before each further shard's IDENTIFY); with `wait_ready`, once all are.
        """
        return run_client(
            client,
            token=self.token,
            gateway=self.gateway,
            wait_ready=wait_ready,
            limit=self.timeout,
        )

    # the gateway

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a gateway event (op 0) to the connected clients; how many received it."""
        return await self.gateway.dispatch(event, data)

    async def sync(self) -> None:
        """Wait until every connected client has handled every event sent so far."""
        await self.gateway.sync()

    async def dispatch_seen(self, channel: Channel, event: str, data: dict[str, Any]) -> int:
        """Send an event from `channel` only if the bot can see it (Discord sends nothing from
        channels the bot cannot view or guilds it is not in)."""
        return await self.dispatch(event, data) if self.world.bot_sees(channel) else 0

    async def dispatch_guild_create(self, guild: Guild) -> int:
        """GUILD_CREATE for `guild` (as after it was unavailable); see also `add_bot_to`."""
        return await self.dispatch("GUILD_CREATE", self.world.guild_create(guild))

    async def reconnect(self) -> None:
        """Ask the clients to reconnect (op 7); they come back with RESUME."""
        await self.gateway.request_reconnect()

    # interactions: build, send, await the answer

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an interaction payload (INTERACTION_CREATE) and start its 3 second clock."""
        user_payload = payload["member"]["user"] if "member" in payload else payload["user"]
        channel = self.world.channel(int(payload["channel_id"]))
        assert channel is not None, "interaction in an unknown channel"
        state = InteractionState(
            payload=payload,
            user=self.world.users[int(user_payload["id"])],
            channel=channel,
            created_at=asyncio.get_running_loop().time(),
        )
        self.world.interactions[state.id] = state
        if not await self.dispatch("INTERACTION_CREATE", payload):
            raise RuntimeError("no connected client received the interaction")
        return payload

    async def slash_command(
        self,
        name: str,
        *,
        user: User,
        channel: Channel,
        options: Mapping[str, Any] | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """`user` runs `/name` ("group sub" for subcommands) in `channel` with `options`."""
        payload = self.payloads.slash_command(
            name, user=user, channel=channel, options=options, locale=locale
        )
        return await self.interact(payload)

    async def autocomplete(
        self,
        name: str,
        *,
        user: User,
        channel: Channel,
        focused: str,
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """`user` types into option `focused` of `/name`; the bot should answer with choices."""
        payload = self.payloads.autocomplete(
            name, user=user, channel=channel, focused=focused, options=options
        )
        return await self.interact(payload)

    async def message_command(
        self, name: str, *, user: User, message: dict[str, Any]
    ) -> dict[str, Any]:
        """`user` picks the message context menu command `name` on `message`."""
        return await self.interact(self.payloads.message_command(name, user=user, message=message))

    async def user_command(
        self, name: str, *, user: User, target: User, channel: Channel
    ) -> dict[str, Any]:
        payload = self.payloads.user_command(name, user=user, target=target, channel=channel)
        return await self.interact(payload)

    async def click_button(
        self,
        message: dict[str, Any],
        *,
        user: User,
        custom_id: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """`user` clicks a button (by custom_id or label) on a message the bot sent."""
        payload = self.payloads.button_click(message, user=user, custom_id=custom_id, label=label)
        return await self.interact(payload)

    async def choose(
        self, message: dict[str, Any], *, user: User, custom_id: str, values: list[str]
    ) -> dict[str, Any]:
        """`user` picks `values` in a string select on a message the bot sent."""
        payload = self.payloads.select_menu(message, user=user, custom_id=custom_id, values=values)
        return await self.interact(payload)

    async def submit_modal(
        self, modal: InteractionCallback, values: Mapping[str, str]
    ) -> dict[str, Any]:
        """The user who got `modal` fills it (inputs by custom_id or label) and submits."""
        return await self.interact(self.payloads.modal_submit(modal, values))

    async def wait_for_callback(self, interaction: dict[str, Any]) -> InteractionCallback:
        """The bot's initial response to `interaction`; AssertionError if Discord rejected it."""
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        record = await self.wait_for_request("POST", path, predicate=lambda r: r.status != 429)
        if record.status >= 400:
            raise AssertionError(
                f"the bot's callback was rejected: {record.status} {record.response}"
            )
        state = self.world.interactions[int(interaction["id"])]
        resource = (record.response or {}).get("resource") or {}
        message = resource.get("message") or self.world.messages.get(state.original_message_id or 0)
        return InteractionCallback(
            interaction_id=state.id,
            type=record.json["type"],
            data=record.json.get("data") or {},
            message=message,
            request=record,
        )

    async def wait_for_followup(self, interaction: dict[str, Any]) -> RecordedRequest:
        """The bot's first follow-up message (POST /webhooks/{app}/{token}) for `interaction`."""
        return await self.wait_for_request(
            "POST",
            f"/webhooks/{self.application_id}/{interaction['token']}",
            predicate=lambda r: r.status != 429,
        )

    async def wait_for_original_edit(self, interaction: dict[str, Any]) -> RecordedRequest:
        """The bot's edit of its original response (PATCH .../messages/@original)."""
        return await self.wait_for_request(
            "PATCH",
            f"/webhooks/{self.application_id}/{interaction['token']}/messages/@original",
            predicate=lambda r: r.status != 429,
        )

    # what was received

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HTTP request received so far, in order of completion."""
        return self._recorder.items

    @property
    def sessions(self) -> list[GatewaySession]:
        """Every gateway session identified so far, oldest first."""
        return list(self.gateway.sessions.values())

    @property
    def gateway_frames(self) -> list[GatewayFrame]:
        """Every gateway payload the clients sent, in order."""
        return self.gateway.frames.items

    def find_requests(
        self, method: str | None = None, path: PathPattern | None = None
    ) -> list[RecordedRequest]:
        return self._recorder.find(request_matcher(method, path, None))

    async def wait_for_request(
        self,
        method: str | None = None,
        path: PathPattern | None = None,
        *,
        predicate: Callable[[RecordedRequest], bool] | None = None,
    ) -> RecordedRequest:
        """The first request (already received or yet to come) matching method, path template
        ("{name}" matches one segment) and predicate."""
        return await self._recorder.wait_for(
            request_matcher(method, path, predicate),
            what=describe_request_query(method, path),
        )

    async def wait_for_gateway(
        self,
        op: int,
        *,
        predicate: Callable[[GatewayFrame], bool] | None = None,
    ) -> GatewayFrame:
        """The first payload with opcode `op` a client sent (already or yet to come)."""
        return await self.gateway.frames.wait_for(
            lambda f: f.op == op and (predicate is None or predicate(f)),
            what=f"gateway op {op}",
        )
