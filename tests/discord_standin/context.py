"""What the stand-in's aiohttp handlers share: typed application and request keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import UNKNOWN_CHANNEL, not_found
from .gateway import GatewayServer
from .models import Channel
from .records import RecordedFile
from .world import DiscordWorld


@dataclass(frozen=True)
class ServerSettings:
    """What the REST handlers need to know beyond the world: the gateway URL, tunables."""

    gateway_url: str
    interaction_deadline: float
    shard_count: int


@dataclass(frozen=True)
class ParsedBody:
    """A request body: JSON (or multipart `payload_json`) and any uploaded files."""

    json: Any
    files: tuple[RecordedFile, ...]

    def object(self) -> dict[str, Any]:
        """The JSON body as an object ({} when there was none)."""
        return self.json if isinstance(self.json, dict) else {}


WORLD = web.AppKey("world", DiscordWorld)
SETTINGS = web.AppKey("settings", ServerSettings)
GATEWAY = web.AppKey("gateway", GatewayServer)
BODY = web.RequestKey("body", ParsedBody)


async def parse_body(request: web.Request) -> ParsedBody:
    """Read JSON or multipart/form-data (payload_json + files[n]) as discord.py sends them."""
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[RecordedFile] = []
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read())
            if part.name == "payload_json":
                payload = json.loads(data)
                continue
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files.append(RecordedFile(part.name or "", part.filename or "", content_type, data))
        return ParsedBody(payload, tuple(files))
    raw = await request.read() if request.can_read_body else b""
    return ParsedBody(json.loads(raw) if raw else None, ())


def path_channel(request: web.Request) -> Channel:
    """The channel named by the path's {channel_id}; 404 Unknown Channel if there is none."""
    value = request.match_info["channel_id"]
    channel = request.app[WORLD].channel(int(value)) if value.isdigit() else None
    if channel is None:
        raise not_found(UNKNOWN_CHANNEL, "Channel")
    return channel
