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

from aiohttp import hdrs, web
from yarl import URL

from bot import qr
from bot.errors import Invalid, NotFound, PasswordRequired
from bot.models import Item
from bot.service.grants import SEEN, UNLOCK
from bot.service.images import THUMB_TYPE
from bot.service.languages import PLAIN, canonical_language
from bot.service.policy import shown_to
from bot.units import format_size
from bot.web.access import open_item, resolve_item, set_grant_cookie, unlock_grant
from bot.web.bodies import read_form
from bot.web.errors import error_page
from bot.web.keys import service_of
from bot.web.oembed import kind_label, oembed, oembed_link, thumb_size
from bot.web.raw import headers_only, serve_thumb
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

    A link redirects; a paste, an image or a file gets its page. A page view that spends a
    view of a view-limited item leaves this browser a SEEN grant (bot/web/access.py), so the
    page's original, download and player open without spending another.
    """
    content_id = request.match_info["content_id"]
    language = requested_language(request)  # a bad ?lang= is refused before a view is counted
    visit = visit_of(request)
    if visit is None or request.method == hdrs.METH_HEAD:
        return await _page_without_a_visit(request, content_id, language)
    opened = await open_item(request, content_id, visit, page=True)
    item = opened.item
    if item.kind == "url":
        assert item.target is not None
        return redirect_to(item.target)
    response = await _content_page(request, item, language)
    if opened.seen is not None:
        set_grant_cookie(response, request, SEEN, content_id, opened.seen)
    return response


async def _page_without_a_visit(
    request: web.Request, content_id: str, language: str | None
) -> web.StreamResponse:
    """A preview bot's page (or a HEAD's), which counts nothing: of a view-limited item it
    shows only that it exists (not a link's target either), and of a protected one only a
    small page asking for the password."""
    try:
        item = await resolve_item(request, content_id, None)
    except PasswordRequired as error:
        return error_page(request, error)  # HTML for bots too: a JSON 401 previews as nothing
    if _limited(item):
        return _preview_only_page(request, item)
    if item.kind == "url":
        assert item.target is not None
        return redirect_to(item.target)
    return await _content_page(request, item, language)


async def _content_page(
    request: web.Request, item: Item, language: str | None
) -> web.StreamResponse:
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
    # The page shows the thumbnail and links the original.
    if _limited(item) and item.thumb_sha256 is not None:
        # Inline, so the page needs nothing more (the browser's SEEN grant opens the original).
        data = b"".join([chunk async for chunk in service_of(request).open_blob(item.thumb_sha256)])
        src = f"data:{THUMB_TYPE};base64,{base64.b64encode(data).decode()}"
    else:
        src = f"/{item.content_id}/thumb"
    title = item.filename or f"Image {item.content_id}"
    description = f"{item.width}×{item.height} {_type_name(item)}{_size_of(item)}"
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
    if media_type in PLAYABLE:
        player = "video" if media_type.startswith("video/") else "audio"
    title = item.filename or f"File {item.content_id}"
    description = f"{_type_name(item)}{_size_of(item)}"
    meta = _meta(request, item, title, description)
    if player == "video" and not item.has_password and not _limited(item):
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
    """What a preview may say of an item it may not show: its kind, and how often it opens."""
    label = kind_label(item).lower()
    article = "An" if label[0] in "aeiou" else "A"
    if item.max_views is None:
        limit = ""
    elif item.max_views == 1:
        limit = " It can be opened once."
    else:
        limit = f" It can be opened {item.max_views:,} times in all."
    return f"{article} {label} shared on {SITE_NAME}.{limit}"


def _size_of(item: Item) -> str:
    """', 2.1 MiB' for a preview's description, or '' where the size is not shown to all."""
    size = shown_to(item, None).size
    return "" if size is None else f", {format_size(size)}"


def views_left(item: Item) -> str | None:
    """'2 views left', '1 view left', 'no views left' (the view being shown is counted), or
    None for an item without a view limit."""
    if item.max_views is None:
        return None
    left = max(0, item.max_views - item.views)
    if left == 0:
        return "no views left"
    return f"{left:,} view{'' if left == 1 else 's'} left"


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
    # A view-limited link's target is its content: shown to whoever spends a view, not here.
    target = shown_to(item, None).target
    target_is_web = target is not None and urlsplit(target).scheme in ("http", "https")
    description = _generic_description(item) if target is None else f"A short link to {target}"
    return render_page(
        request,
        "link.html",
        cache=_page_cache(item),
        target=target,
        target_is_web=target_is_web,
        meta=Meta(
            title=f"Where {service_of(request).url_for(content_id)} goes",
            description=description[:220],
            url=absolute(request, f"/{content_id}+"),
        ),
        **{**_facts(item), "short_url": service_of(request).url_for(content_id)},
    )


async def unlock(request: web.Request) -> web.Response:
    """POST /{id}/unlock: check the password; on success a cookie opens the item for an hour."""
    content_id = request.match_info["content_id"]
    service = service_of(request)
    item = await service.get(content_id)
    response = web.Response(status=303, headers={"Location": f"/{content_id}"})
    if item.has_password:
        form = await read_form(request, service.settings.server.read_timeout)
        grant = await unlock_grant(request, content_id, form.get("password"))
        set_grant_cookie(response, request, UNLOCK, content_id, grant)
    return response


async def thumbnail(request: web.Request) -> web.StreamResponse:
    """GET /{id}/thumb: an image's WebP thumbnail; not a visit, so not counted. It is the
    image's content all the same: of a view-limited image it spends a view, unless the browser
    holds the SEEN grant its page view left (HEAD spends none and says nothing of it)."""
    content_id = request.match_info["content_id"]
    service = service_of(request)
    if request.method == hdrs.METH_HEAD:
        item = await resolve_item(request, content_id, None)
        if item.kind != "image":
            raise NotFound("Only images have thumbnails.")
        if shown_to(item, None).size is None:
            return headers_only(THUMB_TYPE)
    else:
        item = (await open_item(request, content_id, None, kind="image")).item
    return await serve_thumb(request, service, item)


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
        "left": views_left(item),
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
