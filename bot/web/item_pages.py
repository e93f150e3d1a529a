"""The pages of items: a paste, an image, a file, a link's info page, a preview that spends
nothing, the password form's answer, and what a page embeds (thumbnail, QR code).

A link's own address redirects (`redirect_to`, refbin's hot path); everything else answers a
page rendered from the templates (bot/web/templating.py).
"""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from bot import qr
from bot.errors import Invalid, NotFound
from bot.models import Item
from bot.service.images import THUMB_TYPE
from bot.service.languages import PLAIN, canonical_language
from bot.units import format_size
from bot.web.access import resolve_item, set_unlock_cookie
from bot.web.bodies import read_form
from bot.web.keys import service_of
from bot.web.oembed import kind_label, oembed, oembed_link, thumb_size
from bot.web.raw import serve_thumb
from bot.web.render import Rendered
from bot.web.templating import (
    PAGES_KEY,
    SITE_NAME,
    FinishedPage,
    Meta,
    absolute,
    language_choices,
    language_name,
    page_response,
    remaining,
    render_page,
    when,
)
from bot.web.visitors import visit_of

PLAYABLE = frozenset(
    {
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/flac",
        "audio/mp4",
        "video/mp4",
        "video/webm",
    }
)
# Our own generated SVG: no scripts, no external references, only inline presentation.
QR_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_SHARED = "private, no-cache"  # the Cache-Control of a page any visitor may be shown
PAGE_TTL = 10.0  # seconds a finished paste page is reused


# ---- item pages ---------------------------------------------------------------------------------


async def show_item_page(request: web.Request) -> web.StreamResponse:
    """GET /{id} for browsers and preview bots (bots are not counted as visitors).

    A link redirects; a paste, an image or a file gets its page.
    """
    content_id = request.match_info["content_id"]
    language = requested_language(request)  # a bad ?lang= is refused before a view is counted
    visit = visit_of(request)
    item = await resolve_item(request, content_id, visit)
    if item.kind == "url":
        assert item.target is not None
        return redirect_to(item.target)
    if visit is None and _limited(item):
        # A preview must not spend or reveal a view-limited item: only that it exists.
        return _preview_only_page(request, item)
    if item.kind == "text":
        return await _paste_page(request, item, language)
    if item.kind == "image":
        return await _image_page(request, item)
    return _file_page(request, item)


def requested_language(request: web.Request) -> str | None:
    """?lang= as Pygments' canonical alias; Invalid (400) for an unknown one."""
    wanted = request.query.get("lang", "").strip()
    return canonical_language(wanted) if wanted else None


async def _paste_page(request: web.Request, item: Item, language: str | None) -> web.Response:
    assert item.sha256 is not None
    service = service_of(request)
    pages = request.app[PAGES_KEY]
    language = language or item.language or PLAIN
    cache = _page_cache(item)
    key = (item.content_id, language)
    if cache == PAGE_SHARED:
        # The same bytes for every visitor for a few seconds: the page shows nothing about
        # who asks, and the item was resolved (and counted) for this request already.
        done = pages.finished.get(key)
        if done is not None and done.item == item and done.fresh_until > time.monotonic():
            pages.finished_hits += 1
            return page_response(pages, done.body, cache=cache)
    rendered: Rendered = await pages.renderer.render(
        item.sha256, language, lambda: service.read_text(item)
    )
    title = item.filename or f"Paste {item.content_id}"
    description = rendered.preview if not _limited(item) else _generic_description(item)
    response = render_page(
        request,
        "paste.html",
        cache=cache,
        rendered=rendered,
        language=language,
        language_label=language_name(language),
        languages=language_choices(language),
        meta=_meta(request, item, title, description or "An empty paste", type="article"),
        **_facts(item),
    )
    if cache == PAGE_SHARED:
        assert isinstance(response.body, bytes)
        pages.finished.put(key, FinishedPage(item, response.body, time.monotonic() + PAGE_TTL))
    return response


async def _image_page(request: web.Request, item: Item) -> web.Response:
    assert item.width is not None and item.height is not None
    width, height = thumb_size(item.width, item.height)
    # The page shows the thumbnail and links the original: fetching /raw would count a
    # second view for every page view (and fail for an item whose last view the page took).
    if _limited(item) and item.thumb_sha256 is not None:
        # Its last view may be this one: later requests for the thumbnail would answer 410.
        data = b"".join([chunk async for chunk in service_of(request).open_blob(item.thumb_sha256)])
        src = f"data:{THUMB_TYPE};base64,{base64.b64encode(data).decode()}"
    else:
        src = f"/{item.content_id}/thumb"
    title = item.filename or f"Image {item.content_id}"
    description = f"{item.width}×{item.height} {_type_name(item)}, {format_size(item.size or 0)}"
    meta = _meta(request, item, title, description, card="summary_large_image")
    if not _limited(item) and not item.has_password:
        meta = _with_image(meta, absolute(request, f"/{item.content_id}/thumb"), width, height)
    return render_page(
        request,
        "image.html",
        cache=_page_cache(item),
        src=src,
        display_width=width,
        display_height=height,
        meta=meta,
        **_facts(item),
    )


def _file_page(request: web.Request, item: Item) -> web.Response:
    media_type = (item.media_type or "").split(";")[0]
    player = None
    if media_type in PLAYABLE and not _limited(item):
        player = "video" if media_type.startswith("video/") else "audio"
    title = item.filename or f"File {item.content_id}"
    description = f"{_type_name(item)}, {format_size(item.size or 0)}"
    meta = _meta(request, item, title, description)
    if player == "video" and not item.has_password:
        meta = _with_video(meta, absolute(request, f"/{item.content_id}/raw"), media_type)
    return render_page(
        request,
        "file.html",
        cache=_page_cache(item),
        player=player,
        media_type=media_type,
        type_name=_type_name(item),
        meta=meta,
        **_facts(item),
    )


def _preview_only_page(request: web.Request, item: Item) -> web.Response:
    title = item.filename or f"{kind_label(item)} {item.content_id}"
    return render_page(
        request,
        "preview.html",
        cache="no-store",
        meta=_meta(request, item, title, _generic_description(item)),
        **_facts(item),
    )


def _generic_description(item: Item) -> str:
    left = "" if item.max_views is None else f" It can be opened {item.max_views} times in all."
    return f"A {kind_label(item).lower()} shared on {SITE_NAME}.{left}"


def _type_name(item: Item) -> str:
    return (item.media_type or "application/octet-stream").split(";")[0]


def _page_cache(item: Item) -> str:
    return "no-store" if item.has_password or _limited(item) else PAGE_SHARED


def _meta(
    request: web.Request,
    item: Item,
    title: str,
    description: str,
    *,
    type: str = "website",
    card: str = "summary",
) -> Meta:
    return Meta(
        title=title,
        description=description,
        url=service_of(request).url_for(item.content_id),
        type=type,
        card=card,
        oembed=oembed_link(request, item.content_id),
    )


def _with_image(meta: Meta, url: str, width: int, height: int) -> Meta:
    return replace(meta, image=url, image_width=width, image_height=height, image_type=THUMB_TYPE)


def _with_video(meta: Meta, url: str, media_type: str) -> Meta:
    return replace(meta, type="video.other", video=url, video_type=media_type)


# ---- link info, unlock, thumbnails, QR codes ------------------------------------------------


async def link_info(request: web.Request) -> web.Response:
    """GET /{id}+: where a short link goes and how often it was followed, without going."""
    content_id = request.match_info["content_id"]
    await resolve_item(request, content_id, None)  # NotFound, Gone, PasswordRequired
    item = await service_of(request).get(content_id)  # uncached: the latest visit count
    if item.kind != "url":
        raise web.HTTPFound(f"/{content_id}")
    assert item.target is not None
    target_is_web = urlsplit(item.target).scheme in ("http", "https")
    return render_page(
        request,
        "link.html",
        cache=_page_cache(item),
        target_is_web=target_is_web,
        meta=Meta(
            title=f"Where {service_of(request).url_for(content_id)} goes",
            description=f"A short link to {item.target[:200]}",
            url=absolute(request, f"/{content_id}+"),
        ),
        **{**_facts(item), "short_url": service_of(request).url_for(content_id)},
    )


async def unlock(request: web.Request) -> web.Response:
    """POST /{id}/unlock: check the password; on success a cookie opens the item for an hour."""
    content_id = request.match_info["content_id"]
    service = service_of(request)
    item = await service.get(content_id)
    if item.has_password:
        form = await read_form(request, service.settings.server.read_timeout)
        await service.check_password(content_id, form.get("password"))
    response = web.Response(status=303, headers={"Location": f"/{content_id}"})
    if item.has_password:
        set_unlock_cookie(response, request, content_id)
    return response


async def thumbnail(request: web.Request) -> web.StreamResponse:
    """GET /{id}/thumb: an image's WebP thumbnail; not a view, so not counted."""
    content_id = request.match_info["content_id"]
    item = await resolve_item(request, content_id, None)
    if item.kind != "image":
        raise NotFound("Only images have thumbnails.")
    return await serve_thumb(request, service_of(request), item)


async def qr_code(request: web.Request) -> web.Response:
    """GET /{id}/qr: the short URL as a QR code, SVG (or PNG with ?format=png)."""
    content_id = request.match_info["content_id"]
    kind = request.query.get("format", "svg").lower()
    if kind not in ("svg", "png"):
        raise Invalid("The QR code format is svg or png.")
    service = service_of(request)
    item = await service.get(content_id)
    public = item.visibility == "public"
    return web.Response(
        body=qr.qr_code(service.url_for(item.content_id), kind),
        content_type=qr.PNG_TYPE if kind == "png" else qr.SVG_TYPE,
        headers={
            "Content-Security-Policy": QR_CSP,
            "Cache-Control": "public, max-age=86400" if public else "private, max-age=3600",
            "Content-Disposition": f'inline; filename="{content_id}-qr.{kind}"',
        },
    )


def redirect_to(target: str) -> web.Response:
    """A short link's 302: returned, not raised, and with no body (the hot path of refbin)."""
    return web.Response(status=302, headers=_redirect_headers(target))


@lru_cache(maxsize=4096)
def _redirect_headers(target: str) -> dict[str, str]:
    # yarl percent-encodes what a header may not carry (`<`, non-ASCII), as HTTPFound did.
    # The dict is copied into each response's headers, never changed itself.
    return {
        "Location": str(URL(target)),
        "Cache-Control": "private, max-age=0",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def _limited(item: Item) -> bool:
    return item.max_views is not None


def _facts(item: Item) -> dict[str, Any]:
    """What every item page shows about the item, beside its content."""
    return {
        "item": item,
        "created": when(item.created_at),
        "expires": remaining(item.expires_at),
        "views_left": None if item.max_views is None else max(0, item.max_views - item.views),
        "raw_url": f"/{item.content_id}/raw",
        "download_url": f"/{item.content_id}/raw?download=1",
        "short_url": None,
    }


ROUTES = [
    web.get("/oembed", oembed),
    web.get(r"/{content_id:[^/]+}+", link_info),
    web.post("/{content_id}/unlock", unlock),
    web.get("/{content_id}/thumb", thumbnail),
    web.get("/{content_id}/qr", qr_code),
]
