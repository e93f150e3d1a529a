"""The pages people see: home, paste, image, file, link info, results and errors.

Handlers parse the request, ask the content service, and render a template. Every page carries
a strict Content-Security-Policy (no inline script or style anywhere), OpenGraph and Twitter
tags for link previews, and an oEmbed discovery link.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from pygments.lexers import get_all_lexers
from yarl import URL

from bot import qr
from bot.errors import Invalid, NotFound, RateLimited, RefbinError, TooLarge
from bot.lru import SizedCache
from bot.models import Created, Item
from bot.service import ContentService
from bot.service.images import THUMB_TYPE
from bot.service.languages import PLAIN, canonical_language
from bot.units import format_duration, format_size, parse_duration
from bot.web.access import resolve_item, set_unlock_cookie
from bot.web.bodies import read_form
from bot.web.keys import SERVICE_KEY
from bot.web.oembed import PROVIDER_NAME, kind_label, oembed, oembed_link, thumb_size
from bot.web.raw import etag_matches, serve_thumb
from bot.web.render import PasteRenderer, Rendered, stylesheet
from bot.web.visitors import BOT_AGENTS, visit_of

HERE = Path(__file__).parent
SITE_NAME = PROVIDER_NAME
# Languages offered in the forms, as Pygments' canonical aliases (any other works in ?lang=).
LANGUAGE_CHOICES = (
    "text python javascript typescript json yaml toml bash c cpp csharp go rust java kotlin "
    "swift php ruby lua sql html css xml markdown diff docker ini haskell elixir scala perl "
    "powershell nginx"
).split()
EXPIRY_CHOICES = ("10m", "1h", "1d", "7d", "30d", "365d")
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
ERROR_TITLES = {
    400: "That did not work",
    401: "Password required",
    403: "Not allowed",
    404: "Not found",
    409: "Already taken",
    410: "Gone",
    413: "Too large",
    422: "Could not use that",
    429: "Slow down",
    451: "Blocked",
    503: "Temporarily unavailable",
    507: "Storage full",
}


# Our own generated SVG: no scripts, no external references, only inline presentation.
QR_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_SHARED = "private, no-cache"  # the Cache-Control of a page any visitor may be shown
PAGE_TTL = 10.0  # seconds a finished paste page is reused
PAGE_CACHE_BYTES = 32 * 1024 * 1024


@dataclass
class Pages:
    """What the page handlers share: templates, the paste renderer, static files."""

    env: jinja2.Environment
    renderer: PasteRenderer
    static: dict[str, tuple[bytes, str]]  # name -> (bytes, content type)
    version: str  # changes with any static file: ?v= on their URLs makes them cacheable
    csp: str
    # Finished paste pages, (id, language) -> bytes, reused for PAGE_TTL seconds.
    finished: SizedCache[tuple[str, str], FinishedPage] = field(
        default_factory=lambda: SizedCache(PAGE_CACHE_BYTES)
    )
    finished_hits: int = 0


@dataclass(frozen=True)
class FinishedPage:
    item: Item  # as it was when the page was made: a changed item makes a new page
    body: bytes
    fresh_until: float  # time.monotonic(); the page shows times relative to now ("in 3 days")

    @property
    def size(self) -> int:
        return len(self.body) + 256


PAGES_KEY = web.AppKey("pages", Pages)


@dataclass(frozen=True)
class Meta:
    """What link previews read: OpenGraph and Twitter card tags, and the oEmbed link."""

    title: str
    description: str
    url: str
    type: str = "website"
    card: str = "summary"
    image: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    image_type: str | None = None
    video: str | None = None
    video_type: str | None = None
    oembed: str | None = None


# ---- setting up -------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    """Give the app its templates, static files and paste renderer (the routes: ROUTES)."""
    settings = app[SERVICE_KEY].settings
    static = _load_static()
    version = hashlib.sha256(b"".join(body for body, _ in static.values())).hexdigest()[:12]
    app[PAGES_KEY] = Pages(
        env=_environment(version),
        renderer=PasteRenderer(),
        static=static,
        version=version,
        csp=page_csp(settings.server.content_url),
    )
    app.on_cleanup.append(_close_renderer)


async def _close_renderer(app: web.Application) -> None:
    await app[PAGES_KEY].renderer.close()


def _environment(version: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = format_size
    env.globals.update(site_name=SITE_NAME, asset_version=version)
    return env


def _load_static() -> dict[str, tuple[bytes, str]]:
    files = {
        path.name: (path.read_bytes(), mimetypes.guess_type(path.name)[0] or "text/plain")
        for path in (HERE / "static").iterdir()
        if path.is_file()
    }
    files["pygments.css"] = (stylesheet().encode(), "text/css")
    return files


def page_csp(content_url: str = "") -> str:
    """Our pages run only our own script and style, embed nothing, and are framed by no one."""
    extra = f" {content_url}" if content_url else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data:{extra}; media-src 'self'{extra}; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


# ---- helpers ----------------------------------------------------------------------------------


def wants_html(request: web.Request) -> bool:
    """A browser navigating: it asks for text/html (curl and API clients do not)."""
    return "text/html" in request.headers.get("Accept", "")


def wants_page(request: web.Request) -> bool:
    """Browsers and link-preview bots get an item's page; other clients get its bytes."""
    return wants_html(request) or bool(BOT_AGENTS.search(request.headers.get("User-Agent", "")))


def wants_error_page(request: web.Request) -> bool:
    """A human error page for browsers, except under /api/ (always JSON)."""
    return wants_html(request) and not request.path.startswith("/api/")


def service_of(request: web.Request) -> ContentService:
    return request.app[SERVICE_KEY]


def render_page(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    cache: str = "private, no-cache",
    **context: Any,
) -> web.Response:
    """A template as an HTML response with the page security headers."""
    pages = request.app[PAGES_KEY]
    context.setdefault("meta", None)
    html = pages.env.get_template(template).render(**context)
    return page_response(pages, html.encode(), status=status, cache=cache)


def page_response(pages: Pages, body: bytes, *, status: int = 200, cache: str) -> web.Response:
    """A finished page (UTF-8 HTML) with the page security headers."""
    return web.Response(
        body=body,
        status=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": pages.csp,
            "X-Frame-Options": "DENY",
            "Cache-Control": cache,
            "Vary": "Accept, User-Agent",
        },
    )


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def _remaining(moment: datetime | None) -> str:
    """'in 3 days', 'in 5 hours', 'in 10 minutes': to the nearest unit, as people say it."""
    if moment is None:
        return ""
    seconds = (moment - datetime.now(UTC)).total_seconds()
    if seconds <= 30:
        return "in a moment"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = round(seconds / size)
        if count >= 1 and seconds >= size * 0.98:
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return "in 1 minute"


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    # From Pygments' table of lexers: asking each lexer would import hundreds of modules.
    return {
        alias: name for name, aliases, _, _ in get_all_lexers(plugins=False) for alias in aliases
    }


def language_name(alias: str) -> str:
    """'python' -> 'Python'."""
    return _language_names().get(alias, alias)


def language_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(alias, name) for the language menus; the current language is always among them."""
    aliases = list(LANGUAGE_CHOICES)
    if current and current not in aliases:
        aliases.insert(1, current)
    return [(alias, language_name(alias)) for alias in aliases]


def absolute(request: web.Request, path: str) -> str:
    return service_of(request).settings.server.base_url + path


def _limited(item: Item) -> bool:
    return item.max_views is not None


def _facts(item: Item) -> dict[str, Any]:
    """What every item page shows about the item, beside its content."""
    return {
        "item": item,
        "created": _when(item.created_at),
        "expires": _remaining(item.expires_at),
        "views_left": None if item.max_views is None else max(0, item.max_views - item.views),
        "raw_url": f"/{item.content_id}/raw",
        "download_url": f"/{item.content_id}/raw?download=1",
        "short_url": None,
    }


# ---- home and the result of a post -------------------------------------------------------------

USAGE = """refbin: links, pastes and files.

  curl -F url=https://example.com/long/path {base}/
  curl -F text=@script.py -F language=python {base}/
  echo 'hello' | curl -F text=@- {base}/
  curl -F file=@photo.png {base}/

Options: -F expires=1d -F max_views=1 -F visibility=unlisted|private -F password=...
"""


async def home(request: web.Request) -> web.Response:
    """The upload form for browsers; a short usage text for curl."""
    service = service_of(request)
    if not wants_html(request):
        return web.Response(text=USAGE.format(base=service.settings.server.base_url))
    limits = service.settings.limits
    return render_page(
        request,
        "home.html",
        languages=language_choices(),
        expiries=_expiry_choices(service),
        default_expiry=format_duration(limits.default_expiry) if limits.default_expiry else "",
        upload_limit=limits.upload,
        paste_limit=limits.paste,
        anonymous=service.settings.server.anonymous_uploads,
        meta=Meta(
            title=f"{SITE_NAME}: share links, pastes and files",
            description="Shorten a link, paste some text or upload files and get one short link.",
            url=absolute(request, "/"),
        ),
    )


def _expiry_choices(service: ContentService) -> list[str]:
    limit = service.settings.limits.max_expiry
    return [c for c in EXPIRY_CHOICES if limit is None or parse_duration(c) <= limit]


def created_page(request: web.Request, created: Created) -> web.Response:
    """The answer to the home page's form: the short link, its QR code and the delete token."""
    item = created.item
    response = render_page(
        request,
        "created.html",
        status=201 if created.created else 200,
        cache="no-store",  # the delete token is in it
        created=created,
        item=item,
        kind=kind_label(item),
        expires=_remaining(item.expires_at),
        info_url=f"/{item.content_id}+" if item.kind == "url" else None,
    )
    if created.delete_token:
        response.headers["X-Delete-Token"] = created.delete_token
    return response


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


async def static_file(request: web.Request) -> web.Response:
    """Our CSS and script, from memory; long-cached when asked for by their current version."""
    pages = request.app[PAGES_KEY]
    found = pages.static.get(request.match_info["name"])
    if found is None:
        raise NotFound("No such file.")
    body, content_type = found
    etag = f'"{pages.version}"'
    current = request.query.get("v") == pages.version
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable" if current else "no-cache",
    }
    if etag_matches(request.headers.get("If-None-Match", ""), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


# ---- errors ---------------------------------------------------------------------------------


def error_page(request: web.Request, error: RefbinError | None, status: int) -> web.Response:
    """A human page for a domain error (the guard calls it for browsers)."""
    content_id = request.match_info.get("content_id") if status == 401 else None
    message = error.message if error is not None else "There is nothing at this address."
    response = render_page(
        request,
        "error.html",
        status=status,
        cache="no-store",
        title=ERROR_TITLES.get(status, "Something went wrong"),
        status_code=status,
        message=message,
        unlock_url=f"/{quote(content_id)}/unlock" if content_id else None,
    )
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, TooLarge):
        # The rest of the body is not read: close the connection rather than drain it.
        response.force_close()
    return response


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


ROUTES = [
    web.get("/", home),
    web.get("/oembed", oembed),
    web.get("/static/{name}", static_file),
    web.get(r"/{content_id:[^/]+}+", link_info),
    web.post("/{content_id}/unlock", unlock),
    web.get("/{content_id}/thumb", thumbnail),
    web.get("/{content_id}/qr", qr_code),
]
