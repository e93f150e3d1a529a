"""The CDN: attachment bytes served by URL, streamed in chunks like a real download."""

from __future__ import annotations

import hashlib
import mimetypes
import time
from dataclasses import dataclass
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


class AttachmentStore:
    """Attachments by (channel id, attachment id), with Discord-shaped payloads."""

    def __init__(self, base_url: str, *, chunk_size: int) -> None:
        self.base_url = base_url
        self.chunk_size = chunk_size
        self._stored: dict[tuple[int, int], StoredAttachment] = {}

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
        """
        media_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        kind = "ephemeral-attachments" if ephemeral else "attachments"
        path = f"/{kind}/{channel_id}/{attachment_id}/{quote(filename)}"
        signature = _signed_query(path)
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": f"{self.base_url}{path}?{signature}",
            "proxy_url": f"{self.base_url}/proxy{path}?{signature}",
            "content_type": media_type,
        }
        if description is not None:
            payload["description"] = description
        if width is not None and height is not None:
            payload.update(width=width, height=height)
        if ephemeral:
            payload["ephemeral"] = True
        self._stored[(channel_id, attachment_id)] = StoredAttachment(
            channel_id, attachment_id, filename, media_type, data, payload
        )
        return payload

    def get(self, channel_id: int, attachment_id: int) -> StoredAttachment | None:
        return self._stored.get((channel_id, attachment_id))


def _signed_query(path: str) -> str:
    """Discord's expiring-link parameters (ex, is, hm); the stand-in does not check them."""
    now = int(time.time())
    digest = hashlib.sha256(f"{path}{now}".encode()).hexdigest()
    return f"ex={now + 86400:x}&is={now:x}&hm={digest}&"


async def serve_attachment(request: web.Request, store: AttachmentStore) -> web.StreamResponse:
    """GET /[proxy/][ephemeral-]attachments/{channel_id}/{id}/{filename}, streamed in chunks."""
    stored = store.get(int(request.match_info["channel_id"]), int(request.match_info["id"]))
    if stored is None or stored.filename != request.match_info["filename"]:
        return web.Response(status=404, text="This content is no longer available.")
    response = web.StreamResponse(
        headers={"Content-Type": stored.content_type, "Cache-Control": "public, max-age=31536000"}
    )
    response.content_length = len(stored.data)
    await response.prepare(request)
    if request.method != "HEAD":
        for start in range(0, len(stored.data), store.chunk_size):
            await response.write(stored.data[start : start + store.chunk_size])
    await response.write_eof()
    return response
