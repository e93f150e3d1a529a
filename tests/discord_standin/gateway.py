"""The gateway websocket: Discord's opcodes, sessions that can resume, and dispatching events."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from .compression import GatewayEncoder, UnsupportedCompression, encoder_for
from .intents import PRIVILEGED, shape_for_intents
from .records import GatewayFrame, Recorder
from .world import DiscordWorld

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
ACCEPTED_SILENTLY = frozenset({PRESENCE_UPDATE, VOICE_STATE_UPDATE})
CLEAN_CLOSE_CODES = frozenset({1000, 1001})


class GatewayClosed(Exception):
    """Close the connection with a Discord close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class GatewayConnection:
    """One websocket; sends are serialised so the compression stream stays in order."""

    def __init__(self, ws: web.WebSocketResponse, encoder: GatewayEncoder, query: dict[str, str]):
        self.ws = ws
        self.query = query
        self._encoder = encoder
        self._lock = asyncio.Lock()
        self.session: GatewaySession | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._lock:
            if self.ws.closed:
                return
            encoded = self._encoder.encode(json.dumps(payload))
            if isinstance(encoded, str):
                await self.ws.send_str(encoded)
                return
            for frame in encoded:
                await self.ws.send_bytes(frame)


class GatewaySession:
    """An identified session: its sequence, its history (for RESUME) and its live connection."""

    def __init__(self, identify: dict[str, Any], query: dict[str, str]) -> None:
        self.id = secrets.token_hex(16)
        self.identify = identify
        self.query = query  # the gateway URL's query on the connection that identified
        self.intents: int = identify["intents"]
        shard = identify.get("shard")
        self.shard: tuple[int, int] | None = (shard[0], shard[1]) if shard else None
        self.seq = 0
        self.history: list[dict[str, Any]] = []
        self.connection: GatewayConnection | None = None
        self.ended = False
        self._lock = asyncio.Lock()

    def handles_guild(self, guild_id: int | None) -> bool:
        """Sharding: guild events go to shard (guild_id >> 22) % count; DMs to shard 0."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id

    async def dispatch(self, event: str, data: Any) -> None:
        async with self._lock:
            self.seq += 1
            frame = {"op": DISPATCH, "s": self.seq, "t": event, "d": data}
            self.history.append(frame)
            if self.connection is not None:
                await self.connection.send(frame)

    async def replay_after(self, seq: int) -> None:
        assert self.connection is not None
        async with self._lock:
            for frame in self.history:
                if frame["s"] > seq:
                    await self.connection.send(frame)


class GatewayServer:
    """Accepts gateway connections and speaks the protocol on them."""

    def __init__(
        self,
        world: DiscordWorld,
        *,
        gateway_url: str,
        heartbeat_interval_ms: int,
        frame_size: int | None,
        timeout: float,
    ) -> None:
        self.world = world
        self.gateway_url = gateway_url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.frame_size = frame_size
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.frames: Recorder[GatewayFrame] = Recorder(GatewayFrame.describe, timeout=timeout)
        self.ready: Recorder[GatewaySession] = Recorder(
            lambda s: f"session {s.id} ready", timeout=timeout
        )

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.ended and s.connection is not None]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        try:
            connection = GatewayConnection(ws, self._encoder(request.query), dict(request.query))
        except GatewayClosed as closed:
            await ws.close(code=closed.code, message=closed.reason.encode())
            return ws
        self.connections.append(connection)
        try:
            await self._serve(connection)
        except GatewayClosed as closed:
            await ws.close(code=closed.code, message=closed.reason.encode())
        finally:
            self.connections.remove(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                session.ended = ws.close_code in CLEAN_CLOSE_CODES
        return ws

    def _encoder(self, query: Any) -> GatewayEncoder:
        if query.get("v") != "10":
            raise GatewayClosed(4012, "Invalid API version.")
        if query.get("encoding", "json") != "json":
            raise GatewayClosed(4002, "Error while decoding payload.")
        try:
            return encoder_for(query.get("compress"), frame_size=self.frame_size)
        except UnsupportedCompression as error:
            raise GatewayClosed(4000, str(error)) from None

    async def _serve(self, connection: GatewayConnection) -> None:
        hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["standin"]}
        await connection.send({"op": HELLO, "d": hello, "s": None, "t": None})
        async for message in connection.ws:
            if message.type != WSMsgType.TEXT:
                raise GatewayClosed(4002, "Error while decoding payload.")
            try:
                payload = json.loads(message.data)
                op, data = payload["op"], payload.get("d")
            except (ValueError, KeyError, TypeError):
                raise GatewayClosed(4002, "Error while decoding payload.") from None
            session = connection.session
            now = asyncio.get_running_loop().time()
            await self.frames.add(GatewayFrame(session.id if session else None, op, data, now))
            await self._receive(connection, op, data)

    async def _receive(self, connection: GatewayConnection, op: int, data: Any) -> None:
        if op == HEARTBEAT:
            await connection.send({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(connection, data)
        elif op == RESUME:
            await self._resume(connection, data)
        elif connection.session is None:
            raise GatewayClosed(4003, "Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            await self._send_member_chunk(connection.session, data)
        elif op not in ACCEPTED_SILENTLY:
            raise GatewayClosed(4001, "Unknown opcode.")

    async def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            raise GatewayClosed(4005, "Already authenticated.")
        if data.get("token") != self.world.token:
            raise GatewayClosed(4004, "Authentication failed.")
        if not isinstance(data.get("intents"), int):
            raise GatewayClosed(4013, "Invalid intent(s).")
        if data["intents"] & PRIVILEGED & ~self.world.privileged_intents:
            raise GatewayClosed(4014, "Disallowed intent(s).")
        shard = data.get("shard")
        if shard is not None and not 0 <= shard[0] < shard[1]:
            raise GatewayClosed(4010, "Invalid shard.")
        session = GatewaySession(data, connection.query)
        session.connection = connection
        connection.session = session
        self.sessions[session.id] = session
        await session.dispatch("READY", self._ready_payload(session))
        for guild in self.world.guilds.values():
            if session.handles_guild(guild.id):
                await self._dispatch_to(session, "GUILD_CREATE", self.world.guild_create(guild))
        await self.ready.add(session)

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        user = self.world.bot_user.to_payload() | {"verified": True, "mfa_enabled": False}
        payload: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [
                {"id": str(g.id), "unavailable": True}
                for g in self.world.guilds.values()
                if session.handles_guild(g.id)
            ],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {
                "id": str(self.world.application_id),
                "flags": self.world.application_flags,
            },
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["standin"],
            "_trace": ["standin"],
        }
        if session.shard is not None:
            payload["shard"] = list(session.shard)
        return payload

    async def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or session.ended or data.get("token") != self.world.token:
            await connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.connection = connection
        connection.session = session
        await session.replay_after(data.get("seq") or 0)
        await session.dispatch("RESUMED", {"_trace": ["standin"]})

    async def _send_member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        query = (data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = [
            m
            for m in guild.members.values()
            if (not user_ids or m.user.id in user_ids) and m.user.username.startswith(query)
        ]
        if data.get("limit"):
            members = members[: data["limit"]]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in user_ids - {m.user.id for m in members}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send an event to every session it is for (by shard and intents); how many got it."""
        guild_id = _guild_id_of(event, data)
        delivered = 0
        for session in list(self.sessions.values()):
            if session.ended or not session.handles_guild(guild_id):
                continue
            delivered += await self._dispatch_to(session, event, data)
        return delivered

    async def _dispatch_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> int:
        shaped = shape_for_intents(
            event, data, intents=session.intents, bot_id=self.world.bot_user.id
        )
        if shaped is None:
            return 0
        await session.dispatch(event, shaped)
        return 1

    async def sync(self) -> None:
        """Return once every connected client has processed everything sent to it so far.

        The stand-in asks for a heartbeat (op 1, as Discord may); a client answers after handling
        the frames before it, and its heartbeat carries the last sequence number it saw.
        """
        for session in self.live_sessions():
            assert session.connection is not None
            start, seq = len(self.frames), session.seq
            await session.connection.send({"op": HEARTBEAT, "d": None, "s": None, "t": None})
            await self.frames.wait_for(
                lambda f, s=session, n=seq: (
                    f.session_id == s.id and f.op == HEARTBEAT and (f.d or 0) >= n
                ),
                what=f"a heartbeat answering the sync of session {session.id}",
                start=start,
            )

    async def request_reconnect(self) -> None:
        """Op 7 RECONNECT on every live connection: clients should reconnect and RESUME."""
        for session in self.live_sessions():
            assert session.connection is not None
            await session.connection.send({"op": RECONNECT, "d": None, "s": None, "t": None})

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.ws.close(code=1001, message=b"stand-in shutting down")


GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def _guild_id_of(event: str, data: dict[str, Any]) -> int | None:
    """Which guild an event is about (for sharding): the guild events carry it as `id`."""
    value = data.get("id") if event in GUILD_OBJECT_EVENTS else data.get("guild_id")
    return int(value) if value else None
