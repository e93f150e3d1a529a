"""What every page is made with: the templates, the static files, the page security headers and
the few things several pages show (languages, times).

Every page carries a strict Content-Security-Policy (no inline script or style anywhere),
OpenGraph and Twitter tags for link previews (`Meta`), and an oEmbed discovery link.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from pygments.lexers import get_all_lexers

from bot.errors import NotFound
from bot.lru import SizedCache
from bot.models import Item
from bot.units import format_size
from bot.web.keys import SERVICE_KEY, service_of
from bot.web.oembed import PROVIDER_NAME
from bot.web.raw import etag_matches
from bot.web.render import PasteRenderer, stylesheet
from bot.web.visitors import BOT_AGENTS

HERE = Path(__file__).parent
SITE_NAME = PROVIDER_NAME
# Languages offered in the forms, as Pygments' canonical aliases (any other works in ?lang=).
LANGUAGE_CHOICES = (
    "text python javascript typescript json yaml toml bash c cpp csharp go rust java kotlin "
    "swift php ruby lua sql html css xml markdown diff docker ini haskell elixir scala perl "
    "powershell nginx"
).split()
PAGE_CACHE_BYTES = 32 * 1024 * 1024


@dataclass
class Pages:
    """What the page handlers share: templates, the paste renderer, static files."""

    env: jinja2.Environment
    renderer: PasteRenderer
    static: dict[str, tuple[bytes, str]]  # name -> (bytes, content type)
    version: str  # changes with any static file: ?v= on their URLs makes them cacheable
    csp: str
    # Finished paste pages, (id, language) -> bytes, reused for a few seconds (item_pages).
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
    """Give the app its templates, static files and paste renderer."""
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


# ---- answering with a page --------------------------------------------------------------------


def wants_html(request: web.Request) -> bool:
    """A browser navigating: it asks for text/html (curl and API clients do not)."""
    return "text/html" in request.headers.get("Accept", "")


def wants_page(request: web.Request) -> bool:
    """Browsers and link-preview bots get an item's page; other clients get its bytes."""
    return wants_html(request) or bool(BOT_AGENTS.search(request.headers.get("User-Agent", "")))


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


def absolute(request: web.Request, path: str) -> str:
    return service_of(request).settings.server.base_url + path


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


# ---- what several pages show ------------------------------------------------------------------


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


def when(moment: datetime | None) -> str:
    """'5 Mar 2025, 14:02 UTC'; 'never' for None."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def remaining(moment: datetime | None) -> str:
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


ROUTES = [web.get("/static/{name}", static_file)]
