"""The home page (the upload form for browsers, a usage text for curl) and the page that
answers its form: the short link, its QR code and the delete token."""

from __future__ import annotations

from aiohttp import web

from bot.models import Created
from bot.service import ALIAS_PATTERN, ContentService
from bot.units import format_duration, parse_duration
from bot.web.keys import service_of
from bot.web.oembed import kind_label
from bot.web.templating import (
    SITE_NAME,
    Meta,
    absolute,
    language_choices,
    remaining,
    render_page,
    wants_html,
)

EXPIRY_CHOICES = ("10m", "1h", "1d", "7d", "30d", "365d")
# The service's alias rule as an HTML pattern: browsers anchor it themselves and read it with
# the `v` flag, in which a literal '-' in a character class must be escaped.
ALIAS_INPUT_PATTERN = (
    ALIAS_PATTERN.pattern.removeprefix("^").removesuffix("$").replace("_-]", "_\\-]")
)

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
        alias_pattern=ALIAS_INPUT_PATTERN,
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
        expires=remaining(item.expires_at),
        info_url=f"/{item.content_id}+" if item.kind == "url" else None,
    )
    if created.delete_token:
        response.headers["X-Delete-Token"] = created.delete_token
    return response


ROUTES = [web.get("/", home)]
