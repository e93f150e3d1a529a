"""oEmbed (https://oembed.com): what Discord, Slack or Mastodon may embed for one of our links.

`GET /oembed?url=<short link>&format=json`; pages point to it with a
`<link rel="alternate" type="application/json+oembed">` tag. It describes an item as anyone may
see it (policy.shown_to), and nothing of a password-protected or view-limited one beyond its
kind and name: a preview must not reveal or spend it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.errors import NotFound
from bot.models import KIND_TITLES, Item
from bot.service.images import THUMB_SIZE
from bot.service.policy import shown_to
from bot.web.keys import SERVICE_KEY

PROVIDER_NAME = "refbin"
CACHE_AGE = 3600


async def oembed(request: web.Request) -> web.Response:
    """GET /oembed?url=…&format=json: a `photo` for an image, a `link` for anything else."""
    if request.query.get("format", "json") != "json":
        raise web.HTTPNotImplemented(text="Only format=json is offered.")
    service = request.app[SERVICE_KEY]
    content_id = _id_from_url(request, request.query.get("url", ""))
    item = shown_to(await service.get(content_id), None)
    base = service.settings.server.base_url
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "link",
        "provider_name": PROVIDER_NAME,
        "provider_url": base + "/",
        "title": item.filename or f"{kind_label(item)} {content_id}",
        "cache_age": CACHE_AGE,
    }
    if item.kind == "image" and not item.has_password and item.max_views is None:
        assert item.width is not None and item.height is not None
        width, height = thumb_size(item.width, item.height)
        answer.update(
            thumbnail_url=f"{base}/{content_id}/thumb",
            thumbnail_width=width,
            thumbnail_height=height,
        )
        answer.update(_photo(request, base, item))
    return web.json_response(answer, dumps=json.dumps)


def oembed_link(request: web.Request, content_id: str) -> str:
    """The oEmbed address describing an item, for the discovery tag of its page."""
    service = request.app[SERVICE_KEY]
    query = urlencode({"url": service.url_for(content_id), "format": "json"})
    return f"{service.settings.server.base_url}/oembed?{query}"


def thumb_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size: the image scaled to fit THUMB_SIZE, never enlarged."""
    scale = min(1.0, THUMB_SIZE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def kind_label(item: Item) -> str:
    return KIND_TITLES[item.kind]


def _photo(request: web.Request, base: str, item: Item) -> dict[str, Any]:
    """The original, or the thumbnail when maxwidth/maxheight ask for something smaller."""
    assert item.width is not None and item.height is not None
    max_width = _positive(request.query.get("maxwidth"))
    max_height = _positive(request.query.get("maxheight"))
    fits = (max_width is None or item.width <= max_width) and (
        max_height is None or item.height <= max_height
    )
    if fits:
        url, width, height = f"{base}/{item.content_id}/raw", item.width, item.height
    else:
        url = f"{base}/{item.content_id}/thumb"
        width, height = thumb_size(item.width, item.height)
    return {"type": "photo", "url": url, "width": width, "height": height}


def _positive(value: str | None) -> int | None:
    if not value or not value.isdigit() or len(value) > 6:
        return None
    return int(value) or None


def _id_from_url(request: web.Request, url: str) -> str:
    """The content id in one of our URLs; NotFound for anybody else's."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[": not a URL at all, so not one of ours
        raise NotFound("That URL is not one of ours.") from None
    base = urlsplit(request.app[SERVICE_KEY].settings.server.base_url)
    ours = parts.netloc.lower() in (base.netloc.lower(), request.host.lower())
    segments = [segment for segment in parts.path.split("/") if segment]
    if parts.scheme not in ("http", "https") or not ours or not segments:
        raise NotFound("That URL is not one of ours.")
    return segments[0].removesuffix("+")
