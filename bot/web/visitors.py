"""Who is asking: a visitor to count, or a link-preview fetcher or crawler that is not one."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from bot.models import Visit

# Link-preview fetchers and crawlers: they see items but are not visitors.
BOT_AGENTS = re.compile(
    r"discordbot|slackbot|twitterbot|facebookexternalhit|telegrambot|whatsapp|linkedinbot"
    r"|skypeuripreview|mastodon|pleroma|embedly|redditbot|googlebot|bingbot|applebot"
    r"|bot\b|crawler|spider|preview",
    re.IGNORECASE,
)


def visit_of(request: web.Request) -> Visit | None:
    """The visit to count, or None for link-preview fetchers and crawlers."""
    agent = request.headers.get("User-Agent", "")
    if BOT_AGENTS.search(agent):
        return None
    return Visit(referrer=referrer_host(request.headers.get("Referer", "")))


def referrer_host(header: str) -> str:
    """The host a Referer names, or '' for one that is malformed or not a plain ASCII host.

    It is stored and summed in the database: a value PostgreSQL refuses (a byte that is not
    UTF-8 arrives as a lone surrogate) would fail every later flush of the visit counts.
    """
    if not header:
        return ""
    try:
        host = urlsplit(header).hostname or ""
    except ValueError:  # "http://[": an unterminated IPv6 literal
        return ""
    return host if host.isascii() and host.isprintable() else ""
