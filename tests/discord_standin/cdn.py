"""The CDN: attachment bytes served by URL, streamed in chunks like a real download; slow or
failing when a test asks."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web


@dataclass(frozen=True)
class StoredAttachment:
    """Bytes the CDN serves, and the attachment object that points at them."""

    channel_id: int
    id: int
    filename: str
    content_type: str
    data: bytes
    payload: dict[str, Any]


@dataclass
class CdnBehaviour:
    """How the CDN answers: after `delay` seconds, then a pause of `trickle` seconds before
    each chunk; or, with `status` (404, 500, ...), that error instead of the bytes."""

    delay: float = 0.0
    trickle: float = 0.0
    status: int | None = None


NO_CONTENT_TYPE = ""  # pass as content_type: the payload has none, as Discord sometimes sends


@dataclass
class AttachmentStore:
    """Attachments by (channel id, attachment id), with Discord-shaped payloads."""

    base_url: str
    chunk_size: int
    behaviour: CdnBehaviour = field(default_factory=CdnBehaviour)  # for every attachment
    per_attachment: dict[int, CdnBehaviour] = field(default_factory=dict)  # by attachment id
    _stored: dict[tuple[int, int], StoredAttachment] = field(
        default_factory=dict, init=False, repr=False
    )

    def behaviour_for(self, attachment_id: int) -> CdnBehaviour:
        return self.per_attachment.get(attachment_id, self.behaviour)

    def add(
        self,
        *,
        channel_id: int,
        attachment_id: int,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        description: str | None = None,
        width: int | None = None,
        height: int | None = None,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        """Store bytes; the attachment payload, whose url and proxy_url serve them.

        Ephemeral ones (slash command options) live under /ephemeral-attachments, as on Discord.
        Without `content_type` it is guessed from the name, text with Discord's
        `; charset=utf-8`; NO_CONTENT_TYPE leaves it out of the payload.
        """
        media_type = _media_type(filename, data) if content_type is None else content_type
        kind = "ephemeral-attachments" if ephemeral else "attachments"
        path = f"/{kind}/{channel_id}/{attachment_id}/{quote(filename)}"
        signature = _signed_query(path)
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": f"{self.base_url}{path}?{signature}",
            "proxy_url": f"{self.base_url}/proxy{path}?{signature}",
        }
        if media_type:
            payload["content_type"] = media_type
        if description is not None:
            payload["description"] = description
        if width is not None and height is not None:
            payload.update(width=width, height=height)
        if ephemeral:
            payload["ephemeral"] = True
        served_type = media_type or "application/octet-stream"
        self._stored[(channel_id, attachment_id)] = StoredAttachment(
            channel_id, attachment_id, filename, served_type, data, payload
        )
        return payload

    def get(self, channel_id: int, attachment_id: int) -> StoredAttachment | None:
        return self._stored.get((channel_id, attachment_id))


def _media_type(filename: str, data: bytes) -> str:
    guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if guessed.startswith("text/"):
        try:
            data.decode()
        except UnicodeDecodeError:
            return guessed
        return f"{guessed}; charset=utf-8"
    return guessed


def _signed_query(path: str) -> str:
    """Discord's expiring-link parameters (ex, is, hm); the stand-in does not check them."""
    now = int(time.time())
    digest = hashlib.sha256(f"{path}{now}".encode()).hexdigest()
    return f"ex={now + 86400:x}&is={now:x}&hm={digest}&"


_ERROR_TEXT = {
    404: "This content is no longer available.",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


async def serve_attachment(request: web.Request, store: AttachmentStore) -> web.StreamResponse:
    """GET /[proxy/][ephemeral-]attachments/{channel_id}/{id}/{filename}, streamed in chunks."""
    attachment_id = int(request.match_info["id"])
    stored = store.get(int(request.match_info["channel_id"]), attachment_id)
    if stored is None or stored.filename != request.match_info["filename"]:
        return web.Response(status=404, text="This content is no longer available.")
    behaviour = store.behaviour_for(attachment_id)
    if behaviour.delay:
        await asyncio.sleep(behaviour.delay)
    if behaviour.status is not None:
        return web.Response(status=behaviour.status, text=_ERROR_TEXT.get(behaviour.status, ""))
    response = web.StreamResponse(
        headers={"Content-Type": stored.content_type, "Cache-Control": "public, max-age=31536000"}
    )
    response.content_length = len(stored.data)
    await response.prepare(request)
    if request.method != "HEAD":
        for start in range(0, len(stored.data), store.chunk_size):
            if behaviour.trickle:
                await asyncio.sleep(behaviour.trickle)
            await response.write(stored.data[start : start + store.chunk_size])
    await response.write_eof()
    return response
